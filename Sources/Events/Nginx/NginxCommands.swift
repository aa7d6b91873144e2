/// Intents about an Nginx cluster (aggregate "nginx-cluster/<name>"). Every change that alters the rendered
/// config makes a new version of it; `reason` goes on that version.

public struct CreateNginxCluster: CommandPayload {
    public static let type = "CreateNginxCluster"
    public var aggregate: String { AggregateKey.nginxCluster(name) }
    public var name: String
    public var environment: NginxEnvironment
    public var nodes: [NginxNode]
    public var upstreams: [NginxUpstream]
    public var sites: [NginxSite]
    public var testDomain: NginxTestDomain?
    public var reason: String?
    public init(name: String, environment: NginxEnvironment, nodes: [NginxNode] = [], upstreams: [NginxUpstream] = [],
                sites: [NginxSite] = [], testDomain: NginxTestDomain? = nil, reason: String? = nil) {
        self.name = name; self.environment = environment; self.nodes = nodes; self.upstreams = upstreams
        self.sites = sites; self.testDomain = testDomain; self.reason = reason
    }
}

public struct AddNginxNode: CommandPayload {
    public static let type = "AddNginxNode"
    public var aggregate: String { AggregateKey.nginxCluster(cluster) }
    public var cluster: String
    public var node: NginxNode
    public init(cluster: String, node: NginxNode) { self.cluster = cluster; self.node = node }
}

public struct RemoveNginxNode: CommandPayload {
    public static let type = "RemoveNginxNode"
    public var aggregate: String { AggregateKey.nginxCluster(cluster) }
    public var cluster: String
    public var node: String
    public init(cluster: String, node: String) { self.cluster = cluster; self.node = node }
}

/// Creates or replaces one upstream.
public struct PutNginxUpstream: CommandPayload {
    public static let type = "PutNginxUpstream"
    public var aggregate: String { AggregateKey.nginxCluster(cluster) }
    public var cluster: String
    public var upstream: NginxUpstream
    public var reason: String?
    public init(cluster: String, upstream: NginxUpstream, reason: String? = nil) { self.cluster = cluster; self.upstream = upstream; self.reason = reason }
}

public struct DeleteNginxUpstream: CommandPayload {
    public static let type = "DeleteNginxUpstream"
    public var aggregate: String { AggregateKey.nginxCluster(cluster) }
    public var cluster: String
    public var name: String
    public var reason: String?
    public init(cluster: String, name: String, reason: String? = nil) { self.cluster = cluster; self.name = name; self.reason = reason }
}

/// Creates or replaces one site.
public struct PutNginxSite: CommandPayload {
    public static let type = "PutNginxSite"
    public var aggregate: String { AggregateKey.nginxCluster(cluster) }
    public var cluster: String
    public var site: NginxSite
    public var reason: String?
    public init(cluster: String, site: NginxSite, reason: String? = nil) { self.cluster = cluster; self.site = site; self.reason = reason }
}

public struct DeleteNginxSite: CommandPayload {
    public static let type = "DeleteNginxSite"
    public var aggregate: String { AggregateKey.nginxCluster(cluster) }
    public var cluster: String
    public var name: String
    public var reason: String?
    public init(cluster: String, name: String, reason: String? = nil) { self.cluster = cluster; self.name = name; self.reason = reason }
}

/// Re-applies version `version`'s exact text (and its sites and upstreams) as a new version.
public struct RollbackNginxConfig: CommandPayload {
    public static let type = "RollbackNginxConfig"
    /// 2: carries the target version's content, since the processor keeps whole texts of recent versions only.
    public static let schemaVersion = 2
    public static let olderVersions: Set<Int> = [1]
    public var aggregate: String { AggregateKey.nginxCluster(cluster) }
    public var cluster: String
    public var version: Int
    public var reason: String?
    /// The target version's text, upstreams and sites, as the API read them from the read model. The decider
    /// accepts them only if they hash to what it recorded for that version, so a changed read model cannot slip
    /// a config in through a rollback.
    public var content: NginxVersionContent?
    public init(cluster: String, version: Int, reason: String? = nil, content: NginxVersionContent? = nil) {
        self.cluster = cluster; self.version = version; self.reason = reason; self.content = content
    }
}

/// What a config version was made of: its text and the upstreams and sites it was rendered from.
public struct NginxVersionContent: Codable, Hashable, Sendable {
    public var text: String
    public var upstreams: [NginxUpstream]
    public var sites: [NginxSite]
    public init(text: String, upstreams: [NginxUpstream], sites: [NginxSite]) { self.text = text; self.upstreams = upstreams; self.sites = sites }
}

/// From the nginx-sync worker: a service's live members changed (scaled, upgraded, destroyed, addresses set).
public struct SyncNginxServiceMembers: CommandPayload {
    public static let type = "SyncNginxServiceMembers"
    public var aggregate: String { AggregateKey.nginxCluster(cluster) }
    public var cluster: String
    public var members: NginxServiceMembers
    public init(cluster: String, members: NginxServiceMembers) { self.cluster = cluster; self.members = members }
}

/// From the nginx worker: the result of `nginx -t` on a version's text.
public struct RecordNginxValidation: CommandPayload {
    public static let type = "RecordNginxValidation"
    public var aggregate: String { AggregateKey.nginxCluster(cluster) }
    public var cluster: String
    public var version: Int
    public var valid: Bool
    public var message: String
    /// For a valid version: the installation key's signature of (cluster, version, sha256 of the text), made by the
    /// nginx worker from the text in the log. Node agents check it before applying anything.
    public var signature: String?
    public init(cluster: String, version: Int, valid: Bool, message: String, signature: String? = nil) {
        self.cluster = cluster; self.version = version; self.valid = valid; self.message = message; self.signature = signature
    }
}

/// From a node agent: it applied a version, failed to, or found the live file changed by hand (drift).
public struct RecordNginxNodeReport: CommandPayload {
    public static let type = "RecordNginxNodeReport"
    public var aggregate: String { AggregateKey.nginxCluster(cluster) }
    public var cluster: String
    public var node: String
    public var version: Int
    public var outcome: NginxNodeOutcome
    public var message: String
    public var liveSha256: String?
    public init(cluster: String, node: String, version: Int, outcome: NginxNodeOutcome, message: String, liveSha256: String? = nil) {
        self.cluster = cluster; self.node = node; self.version = version; self.outcome = outcome; self.message = message
        self.liveSha256 = liveSha256
    }
}
