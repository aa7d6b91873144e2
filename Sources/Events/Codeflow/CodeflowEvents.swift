/// Facts about codeflows, builds and webhook deliveries.

public struct CodeflowDefined: EventPayload {
    public static let type = "CodeflowDefined"
    public var name: String
    public var spec: CodeflowSpec
    /// Sealed; absent when this change kept the secret.
    public var webhookSecret: String?
    /// 1 for the create, then one more per change.
    public var revision: Int
    public init(name: String, spec: CodeflowSpec, webhookSecret: String?, revision: Int) {
        self.name = name; self.spec = spec; self.webhookSecret = webhookSecret; self.revision = revision
    }
}

public struct BuildQueued: EventPayload {
    public static let type = "BuildQueued"
    public var id: String
    public var codeflow: String
    public var spec: CodeflowSpec
    public var ref: String
    public var commit: String?
    public var trigger: BuildTrigger
    public var retryOf: String?
    public init(id: String, codeflow: String, spec: CodeflowSpec, ref: String, commit: String?, trigger: BuildTrigger, retryOf: String?) {
        self.id = id; self.codeflow = codeflow; self.spec = spec; self.ref = ref; self.commit = commit; self.trigger = trigger; self.retryOf = retryOf
    }
}

public struct BuildStarted: EventPayload {
    public static let type = "BuildStarted"
    public var id: String
    public var codeflow: String
    public var runner: String
    public init(id: String, codeflow: String, runner: String) { self.id = id; self.codeflow = codeflow; self.runner = runner }
}

public struct BuildSucceeded: EventPayload {
    public static let type = "BuildSucceeded"
    public var id: String
    public var codeflow: String
    public var service: String
    public var commit: String
    /// Repository and tag as pushed.
    public var image: String
    /// The manifest digest the registry answered for the push.
    public var digest: String
    public var cacheHit: Bool
    public var phases: BuildPhases
    public init(id: String, codeflow: String, service: String, commit: String, image: String, digest: String, cacheHit: Bool, phases: BuildPhases) {
        self.id = id; self.codeflow = codeflow; self.service = service; self.commit = commit; self.image = image; self.digest = digest
        self.cacheHit = cacheHit; self.phases = phases
    }

    /// The reference the service is upgraded to: the repository pinned by digest.
    public var pinnedImage: String {
        let repository: Substring
        if let slash = image.lastIndex(of: "/"), let colon = image.lastIndex(of: ":"), colon > slash { repository = image[..<colon] } else { repository = Substring(image) }
        return "\(repository)@\(digest)"
    }
}

public struct BuildFailed: EventPayload {
    public static let type = "BuildFailed"
    public var id: String
    public var codeflow: String
    public var commit: String?
    public var reason: String
    public var cacheHit: Bool?
    public var phases: BuildPhases
    public init(id: String, codeflow: String, commit: String?, reason: String, cacheHit: Bool?, phases: BuildPhases) {
        self.id = id; self.codeflow = codeflow; self.commit = commit; self.reason = reason; self.cacheHit = cacheHit; self.phases = phases
    }
}

public struct BuildCancelled: EventPayload {
    public static let type = "BuildCancelled"
    public var id: String
    public var codeflow: String
    /// Whether a worker was running it (and is to kill it).
    public var wasRunning: Bool
    public init(id: String, codeflow: String, wasRunning: Bool) { self.id = id; self.codeflow = codeflow; self.wasRunning = wasRunning }
}

public struct WebhookIgnored: EventPayload {
    public static let type = "WebhookIgnored"
    public var provider: String
    public var delivery: String
    public var event: String
    public var repository: String
    public var ref: String
    public var user: String
    public var reason: String
    public init(provider: String, delivery: String, event: String, repository: String, ref: String, user: String, reason: String) {
        self.provider = provider; self.delivery = delivery; self.event = event; self.repository = repository; self.ref = ref; self.user = user
        self.reason = reason
    }
}
