/// Facts about a Service. Template-changing events carry the whole new template and its revision number,
/// so that history, rollback and read models never need to reconstruct it.

public struct ServiceCreated: EventPayload {
    public static let type = "ServiceCreated"
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

public struct ServiceConfigUpdated: EventPayload {
    public static let type = "ServiceConfigUpdated"
    public var name: String
    /// The new revision when the template changed; equal to the current one when only the domain changed.
    public var revision: Int
    public var template: PodTemplate
    public var domain: String?
    public init(name: String, revision: Int, template: PodTemplate, domain: String?) {
        self.name = name; self.revision = revision; self.template = template; self.domain = domain
    }
}

public struct ServiceImageUpgraded: EventPayload {
    public static let type = "ServiceImageUpgraded"
    public var name: String
    public var previousImage: String
    public var revision: Int
    public var template: PodTemplate
    public init(name: String, previousImage: String, revision: Int, template: PodTemplate) {
        self.name = name; self.previousImage = previousImage; self.revision = revision; self.template = template
    }
}

public struct ServiceScaled: EventPayload {
    public static let type = "ServiceScaled"
    public var name: String
    public var previousReplicas: Int
    public var replicas: Int
    public init(name: String, previousReplicas: Int, replicas: Int) {
        self.name = name; self.previousReplicas = previousReplicas; self.replicas = replicas
    }
}

public struct ServiceRolledBack: EventPayload {
    public static let type = "ServiceRolledBack"
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

public struct ServiceDestroyed: EventPayload {
    public static let type = "ServiceDestroyed"
    public var name: String
    public init(name: String) { self.name = name }
}

public struct ServiceAddressesSet: EventPayload {
    public static let type = "ServiceAddressesSet"
    public var name: String
    public var addresses: [String]
    public init(name: String, addresses: [String]) { self.name = name; self.addresses = addresses }
}

/// A secret variable was revealed to the actor. Carries the sealed value the decider holds, so the API opens
/// exactly what the log says the service has (not what a read model says).
public struct ServiceSecretRevealed: EventPayload {
    public static let type = "ServiceSecretRevealed"
    public var name: String
    public var variable: String
    public var revision: Int
    public var keyId: String
    public var sealed: String
    public init(name: String, variable: String, revision: Int, keyId: String, sealed: String) {
        self.name = name; self.variable = variable; self.revision = revision; self.keyId = keyId; self.sealed = sealed
    }
}
