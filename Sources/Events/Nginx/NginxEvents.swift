/// Facts about an Nginx cluster. Versions carry their full text and diff, so history, rollback and audit never
/// re-render anything.

public struct NginxClusterCreated: EventPayload {
    public static let type = "NginxClusterCreated"
    public var name: String
    public var environment: NginxEnvironment
    public var nodes: [NginxNode]
    public var upstreams: [NginxUpstream]
    public var sites: [NginxSite]
    public var testDomain: NginxTestDomain?
    public init(name: String, environment: NginxEnvironment, nodes: [NginxNode], upstreams: [NginxUpstream], sites: [NginxSite],
                testDomain: NginxTestDomain?) {
        self.name = name; self.environment = environment; self.nodes = nodes; self.upstreams = upstreams; self.sites = sites
        self.testDomain = testDomain
    }
}

public struct NginxNodeAdded: EventPayload {
    public static let type = "NginxNodeAdded"
    public var cluster: String
    public var node: NginxNode
    public init(cluster: String, node: NginxNode) { self.cluster = cluster; self.node = node }
}

public struct NginxNodeRemoved: EventPayload {
    public static let type = "NginxNodeRemoved"
    public var cluster: String
    public var node: String
    public init(cluster: String, node: String) { self.cluster = cluster; self.node = node }
}

public struct NginxUpstreamPut: EventPayload {
    public static let type = "NginxUpstreamPut"
    public var cluster: String
    public var upstream: NginxUpstream
    public init(cluster: String, upstream: NginxUpstream) { self.cluster = cluster; self.upstream = upstream }
}

public struct NginxUpstreamDeleted: EventPayload {
    public static let type = "NginxUpstreamDeleted"
    public var cluster: String
    public var name: String
    public init(cluster: String, name: String) { self.cluster = cluster; self.name = name }
}

public struct NginxSitePut: EventPayload {
    public static let type = "NginxSitePut"
    public var cluster: String
    public var site: NginxSite
    public init(cluster: String, site: NginxSite) { self.cluster = cluster; self.site = site }
}

public struct NginxSiteDeleted: EventPayload {
    public static let type = "NginxSiteDeleted"
    public var cluster: String
    public var name: String
    public init(cluster: String, name: String) { self.cluster = cluster; self.name = name }
}

/// A rollback restores the sites and upstreams of `toVersion`, so the next change builds on them.
public struct NginxConfigRolledBack: EventPayload {
    public static let type = "NginxConfigRolledBack"
    public var cluster: String
    public var toVersion: Int
    public var upstreams: [NginxUpstream]
    public var sites: [NginxSite]
    public init(cluster: String, toVersion: Int, upstreams: [NginxUpstream], sites: [NginxSite]) {
        self.cluster = cluster; self.toVersion = toVersion; self.upstreams = upstreams; self.sites = sites
    }
}

public struct NginxServiceMembersSynced: EventPayload {
    public static let type = "NginxServiceMembersSynced"
    public var cluster: String
    public var members: NginxServiceMembers
    public init(cluster: String, members: NginxServiceMembers) { self.cluster = cluster; self.members = members }
}

/// A new version of the cluster's config: the full text, its SHA-256 and the unified diff against the previous
/// version (empty for version 1).
public struct NginxConfigVersionCreated: EventPayload {
    public static let type = "NginxConfigVersionCreated"
    /// The nginx worker signs the version for the agents only once a checkpoint covers this event.
    public static let signedPromptly = true
    public var cluster: String
    public var version: Int
    public var reason: String
    public var text: String
    public var sha256: String
    public var diff: String
    public var rolledBackTo: Int?
    public init(cluster: String, version: Int, reason: String, text: String, sha256: String, diff: String, rolledBackTo: Int? = nil) {
        self.cluster = cluster; self.version = version; self.reason = reason; self.text = text; self.sha256 = sha256
        self.diff = diff; self.rolledBackTo = rolledBackTo
    }
}

/// `nginx -t` passed (the version becomes the cluster's desired config) or failed (never applied; nginx's
/// message is kept).
public struct NginxConfigValidated: EventPayload {
    public static let type = "NginxConfigValidated"
    public var cluster: String
    public var version: Int
    public var valid: Bool
    public var message: String
    /// See `RecordNginxValidation.signature`.
    public var signature: String?
    public init(cluster: String, version: Int, valid: Bool, message: String, signature: String? = nil) {
        self.cluster = cluster; self.version = version; self.valid = valid; self.message = message; self.signature = signature
    }
}

public struct NginxNodeReported: EventPayload {
    public static let type = "NginxNodeReported"
    public var cluster: String
    public var node: String
    public var version: Int
    public var outcome: NginxNodeOutcome
    public var message: String
    public var liveSha256: String?
    public init(cluster: String, node: String, version: Int, outcome: NginxNodeOutcome, message: String, liveSha256: String?) {
        self.cluster = cluster; self.node = node; self.version = version; self.outcome = outcome; self.message = message
        self.liveSha256 = liveSha256
    }
}
