/// Facts about a Service. Template-changing events carry the whole new template and its revision number,
/// so that history, rollback and read models never need to reconstruct it.

public struct ServiceCreated: Codable, Hashable, Sendable {
    public var name: String
    public var businessLine: String
    public var replicas: Int
    public var domain: String?
    public var revision: Int
    public var template: PodTemplate
    public init(name: String, businessLine: String, replicas: Int, domain: String?, revision: Int, template: PodTemplate) {
        self.name = name; self.businessLine = businessLine; self.replicas = replicas
        self.domain = domain; self.revision = revision; self.template = template
    }
}

public struct ServiceConfigUpdated: Codable, Hashable, Sendable {
    public var name: String
    /// The new revision when the template changed; equal to the current one when only the domain changed.
    public var revision: Int
    public var template: PodTemplate
    public var domain: String?
    public init(name: String, revision: Int, template: PodTemplate, domain: String?) {
        self.name = name; self.revision = revision; self.template = template; self.domain = domain
    }
}

public struct ServiceImageUpgraded: Codable, Hashable, Sendable {
    public var name: String
    public var previousImage: String
    public var revision: Int
    public var template: PodTemplate
    public init(name: String, previousImage: String, revision: Int, template: PodTemplate) {
        self.name = name; self.previousImage = previousImage; self.revision = revision; self.template = template
    }
}

public struct ServiceScaled: Codable, Hashable, Sendable {
    public var name: String
    public var previousReplicas: Int
    public var replicas: Int
    public init(name: String, previousReplicas: Int, replicas: Int) {
        self.name = name; self.previousReplicas = previousReplicas; self.replicas = replicas
    }
}

public struct ServiceRolledBack: Codable, Hashable, Sendable {
    public var name: String
    /// The revision whose template was restored.
    public var toRevision: Int
    /// The new revision that carries that template (rollback is a new revision, as in Kubernetes).
    public var revision: Int
    public var template: PodTemplate
    public init(name: String, toRevision: Int, revision: Int, template: PodTemplate) {
        self.name = name; self.toRevision = toRevision; self.revision = revision; self.template = template
    }
}

public struct ServiceDestroyed: Codable, Hashable, Sendable {
    public var name: String
    public init(name: String) { self.name = name }
}

/// Why a command was refused. `code` maps to the HTTP status the API answers with.
public enum RejectionCode: String, Codable, Hashable, Sendable {
    case notFound = "not_found"      // 404
    case conflict                   // 409
    case invalid                    // 422
}

/// Recorded for every refused intent, so the security team sees attempts too.
public struct CommandRejected: Codable, Hashable, Sendable {
    public var commandType: String
    public var code: RejectionCode
    public var reason: String
    public init(commandType: String, code: RejectionCode, reason: String) {
        self.commandType = commandType; self.code = code; self.reason = reason
    }
}
