/// Intents about codeflows, builds and webhook deliveries.

/// Creates or changes a codeflow. `webhookSecret` is sealed by the API (`SealedSecret`); required on create,
/// absent on an update that keeps the secret.
public struct PutCodeflow: CommandPayload {
    public static let type = "PutCodeflow"
    public var name: String
    public var spec: CodeflowSpec
    public var webhookSecret: String?
    public var aggregate: String { AggregateKey.codeflow(name) }
    public init(name: String, spec: CodeflowSpec, webhookSecret: String? = nil) { self.name = name; self.spec = spec; self.webhookSecret = webhookSecret }
}

/// Queues a build of a codeflow. The API copies the codeflow's spec in, so the log says exactly what was built.
public struct RequestBuild: CommandPayload {
    public static let type = "RequestBuild"
    /// Build ids are made by the API: 20 lowercase hex digits, random, or derived from a webhook delivery or an Idempotency-Key.
    public var id: String
    public var codeflow: String
    public var spec: CodeflowSpec
    /// A branch or tag name, or "refs/..." as the provider sent it.
    public var ref: String
    /// The exact commit to build (webhooks name it; a manual build resolves `ref` when it starts).
    public var commit: String?
    public var trigger: BuildTrigger
    public var retryOf: String?
    public var aggregate: String { AggregateKey.build(id) }
    public init(id: String, codeflow: String, spec: CodeflowSpec, ref: String, commit: String? = nil, trigger: BuildTrigger, retryOf: String? = nil) {
        self.id = id; self.codeflow = codeflow; self.spec = spec; self.ref = ref; self.commit = commit; self.trigger = trigger; self.retryOf = retryOf
    }
}

/// A build worker claims a queued build. `runner` names the worker process; only it may finish the build.
public struct StartBuild: CommandPayload {
    public static let type = "StartBuild"
    public var id: String
    public var runner: String
    public var aggregate: String { AggregateKey.build(id) }
    public init(id: String, runner: String) { self.id = id; self.runner = runner }
}

/// The end of a running build, from its runner (or from a sweeper that found the runner gone: "worker lost").
public struct FinishBuild: CommandPayload {
    public static let type = "FinishBuild"
    public var id: String
    public var runner: String
    public var outcome: BuildOutcome
    public var commit: String?
    public var image: String?
    public var digest: String?
    public var cacheHit: Bool?
    public var phases: BuildPhases
    public var reason: String?
    public var aggregate: String { AggregateKey.build(id) }
    public init(id: String, runner: String, outcome: BuildOutcome, commit: String? = nil, image: String? = nil, digest: String? = nil,
                cacheHit: Bool? = nil, phases: BuildPhases = [:], reason: String? = nil) {
        self.id = id; self.runner = runner; self.outcome = outcome; self.commit = commit; self.image = image; self.digest = digest
        self.cacheHit = cacheHit; self.phases = phases; self.reason = reason
    }
}

/// Cancels a queued or running build (the worker kills a running build's process tree).
public struct CancelBuild: CommandPayload {
    public static let type = "CancelBuild"
    public var id: String
    public var aggregate: String { AggregateKey.build(id) }
    public init(id: String) { self.id = id }
}

/// A webhook delivery that builds nothing (unknown repository, filtered branch, branch deletion, other events),
/// kept so that the audit explains why a push did not build.
public struct RecordWebhookIgnored: CommandPayload {
    public static let type = "RecordWebhookIgnored"
    public var provider: String
    public var delivery: String
    public var event: String
    public var repository: String
    public var ref: String
    public var user: String
    public var reason: String
    public var aggregate: String { AggregateKey.webhook(provider: provider, delivery: delivery) }
    public init(provider: String, delivery: String, event: String, repository: String, ref: String, user: String, reason: String) {
        self.provider = provider; self.delivery = delivery; self.event = event; self.repository = repository; self.ref = ref; self.user = user
        self.reason = reason
    }
}
