/// Value types of the Nginx cluster aggregate, shared by its commands, events, renderer and read models.
/// Optional numbers are left out of the JSON when not given; the renderer applies nginx's own defaults.

public enum NginxEnvironment: String, Codable, Hashable, Sendable { case test, prod }

/// One nginx host of a cluster, served by one `wharf nginx-agent`.
public struct NginxNode: Codable, Hashable, Sendable {
    public var name: String
    /// The IP this node binds every `listen` at (a VIP, or a loopback alias when several nodes share a host);
    /// nil binds all addresses. The node's text differs from the version's text only in those listen lines.
    public var listenAddress: String?
    public init(name: String, listenAddress: String? = nil) { self.name = name; self.listenAddress = listenAddress }
}

/// One `server` line of an upstream: a VM backend ("host:port") or a Wharf service (all of its live members).
public struct NginxUpstreamServer: Codable, Hashable, Sendable {
    public var address: String?
    public var service: String?
    public var weight: Int?
    public var maxFails: Int?
    public var failTimeoutSeconds: Int?
    public var backup: Bool?
    public var down: Bool?

    public init(address: String? = nil, service: String? = nil, weight: Int? = nil, maxFails: Int? = nil,
                failTimeoutSeconds: Int? = nil, backup: Bool? = nil, down: Bool? = nil) {
        self.address = address; self.service = service; self.weight = weight; self.maxFails = maxFails
        self.failTimeoutSeconds = failTimeoutSeconds; self.backup = backup; self.down = down
    }
}

public struct NginxUpstream: Codable, Hashable, Sendable {
    public var name: String
    public var servers: [NginxUpstreamServer]
    public init(name: String, servers: [NginxUpstreamServer]) { self.name = name; self.servers = servers }
}

/// A request header or cookie that must equal `value` exactly.
public struct NginxMatch: Codable, Hashable, Sendable {
    public var name: String
    public var value: String
    public init(name: String, value: String) { self.name = name; self.value = value }
}

/// Gray release of one location: requests matching the header or cookie go to the canary upstream; of the
/// others, `weightPercent` % (per request) do.
public struct NginxCanary: Codable, Hashable, Sendable {
    public var upstream: String
    public var weightPercent: Int?
    public var header: NginxMatch?
    public var cookie: NginxMatch?
    public init(upstream: String, weightPercent: Int? = nil, header: NginxMatch? = nil, cookie: NginxMatch? = nil) {
        self.upstream = upstream; self.weightPercent = weightPercent; self.header = header; self.cookie = cookie
    }
}

public struct NginxLocation: Codable, Hashable, Sendable {
    public var path: String
    public var upstream: String
    public var canary: NginxCanary?
    public init(path: String, upstream: String, canary: NginxCanary? = nil) { self.path = path; self.upstream = upstream; self.canary = canary }
}

/// Certificate and key files as paths on the nginx hosts (and on the Wharf host that runs `nginx -t`).
public struct NginxTLS: Codable, Hashable, Sendable {
    public var certificate: String
    public var key: String
    public init(certificate: String, key: String) { self.certificate = certificate; self.key = key }
}

/// Health-check rules. Open-source nginx checks passively: a server that fails `maxFails` times within
/// `failTimeoutSeconds` is taken out for that long (set per upstream server); these rules say which failures
/// move a request on to the next server, how often, and how long a connect may take.
public struct NginxHealthCheck: Codable, Hashable, Sendable {
    public var nextUpstreamOn: [String]
    public var tries: Int?
    public var connectTimeoutSeconds: Int?
    public init(nextUpstreamOn: [String], tries: Int? = nil, connectTimeoutSeconds: Int? = nil) {
        self.nextUpstreamOn = nextUpstreamOn; self.tries = tries; self.connectTimeoutSeconds = connectTimeoutSeconds
    }
}

public struct NginxSite: Codable, Hashable, Sendable {
    public var name: String
    public var serverNames: [String]
    public var listen: Int
    public var tls: NginxTLS?
    public var locations: [NginxLocation]
    public var healthCheck: NginxHealthCheck?
    public init(name: String, serverNames: [String], listen: Int, tls: NginxTLS? = nil, locations: [NginxLocation],
                healthCheck: NginxHealthCheck? = nil) {
        self.name = name; self.serverNames = serverNames; self.listen = listen; self.tls = tls
        self.locations = locations; self.healthCheck = healthCheck
    }
}

/// Test clusters publish every Wharf service they know of as `<service>.<wildcard>` on `listen`.
public struct NginxTestDomain: Codable, Hashable, Sendable {
    public var wildcard: String
    public var listen: Int
    public init(wildcard: String, listen: Int) { self.wildcard = wildcard; self.listen = listen }
}

/// A Wharf service's live members as the cluster last heard of them. `addresses` is empty when it has none
/// (destroyed, scaled to 0, or no address known yet).
public struct NginxServiceMembers: Codable, Hashable, Sendable {
    public var service: String
    public var revision: Int
    public var image: String
    public var addresses: [String]
    public init(service: String, revision: Int, image: String, addresses: [String]) {
        self.service = service; self.revision = revision; self.image = image; self.addresses = addresses
    }
}

/// What a node agent reports about one version.
public enum NginxNodeOutcome: String, Codable, Hashable, Sendable {
    case applied, failed, drift
}
