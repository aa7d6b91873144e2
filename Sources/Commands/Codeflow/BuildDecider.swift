import Events

/// A build as its decider sees it.
public struct BuildState: Hashable, Sendable, Codable {
    public enum Phase: String, Hashable, Sendable, Codable { case queued, running, succeeded, failed, cancelled }
    public var id: String
    public var codeflow: String
    public var service: String
    public var phase: Phase
    public var runner: String?
    public var commit: String?

    public static func evolve(_ state: BuildState?, _ envelope: EventEnvelope) -> BuildState? {
        switch envelope.event.payload {
        case let e as BuildQueued: return BuildState(id: e.id, codeflow: e.codeflow, service: e.spec.service, phase: .queued, commit: e.commit)
        case let e as BuildStarted: var s = state; s?.phase = .running; s?.runner = e.runner; return s
        case let e as BuildSucceeded: var s = state; s?.phase = .succeeded; s?.commit = e.commit; return s
        case let e as BuildFailed:
            var s = state
            s?.phase = .failed
            if let commit = e.commit { s?.commit = commit }
            return s
        case is BuildCancelled: var s = state; s?.phase = .cancelled; return s
        default: return state
        }
    }
}

extension BuildAggregate: AggregateDecider {
    public typealias State = BuildState
    public static func validate(_ command: Command) -> [ValidationError] { CodeflowValidation.validate(command) }
    public static func evolve(_ state: BuildState?, _ envelope: EventEnvelope) -> BuildState? { BuildState.evolve(state, envelope) }

    public static func decide(_ command: Command, state: BuildState?) -> Result<[Event], Rejection> {
        let errors = validate(command)
        if !errors.isEmpty { return .failure(Rejection(.invalid, errors.map(\.description).joined(separator: "; "))) }
        switch command.payload {
        case let c as RequestBuild:
            if state != nil { return .failure(Rejection(.conflict, "build \(c.id) exists already")) }
            return .success([Event(BuildQueued(id: c.id, codeflow: c.codeflow, spec: c.spec, ref: c.ref, commit: c.commit, trigger: c.trigger,
                                               retryOf: c.retryOf))])
        case let c as StartBuild:
            guard let s = state else { return .failure(Rejection(.notFound, "no build \(c.id)")) }
            guard s.phase == .queued else { return .failure(Rejection(.conflict, "build \(c.id) is \(s.phase.rawValue), not queued")) }
            return .success([Event(BuildStarted(id: c.id, codeflow: s.codeflow, runner: c.runner))])
        case let c as FinishBuild:
            guard let s = state else { return .failure(Rejection(.notFound, "no build \(c.id)")) }
            // Only the runner that claimed the build ends it: a late report from a runner that lost it changes nothing.
            guard s.phase == .running, s.runner == c.runner else {
                return .failure(Rejection(.conflict, "build \(c.id) is \(s.phase.rawValue)\(s.runner.map { " (runner \($0))" } ?? ""); \(c.runner) cannot finish it"))
            }
            switch c.outcome {
            case .succeeded:
                return .success([Event(BuildSucceeded(id: c.id, codeflow: s.codeflow, service: s.service, commit: c.commit!, image: c.image!,
                                                      digest: c.digest!, cacheHit: c.cacheHit ?? false, phases: c.phases))])
            case .failed:
                return .success([Event(BuildFailed(id: c.id, codeflow: s.codeflow, commit: c.commit ?? s.commit, reason: c.reason ?? "failed",
                                                   cacheHit: c.cacheHit, phases: c.phases))])
            }
        case let c as CancelBuild:
            guard let s = state else { return .failure(Rejection(.notFound, "no build \(c.id)")) }
            guard s.phase == .queued || s.phase == .running else {
                return .failure(Rejection(.conflict, "build \(c.id) is \(s.phase.rawValue) already; only queued or running builds can be cancelled"))
            }
            return .success([Event(BuildCancelled(id: c.id, codeflow: s.codeflow, wasRunning: s.phase == .running))])
        default:
            return .failure(Rejection(.invalid, "not a build command: \(command.type)"))
        }
    }
}

/// The webhook deliveries that built nothing: recorded once per delivery id.
public struct WebhookDeliveryState: Hashable, Sendable, Codable {
    public var recorded: Bool
}

extension WebhookAggregate: AggregateDecider {
    public typealias State = WebhookDeliveryState
    public static func validate(_ command: Command) -> [ValidationError] { CodeflowValidation.validate(command) }
    public static func evolve(_ state: WebhookDeliveryState?, _ envelope: EventEnvelope) -> WebhookDeliveryState? {
        envelope.event.as(WebhookIgnored.self) != nil ? WebhookDeliveryState(recorded: true) : state
    }

    public static func decide(_ command: Command, state: WebhookDeliveryState?) -> Result<[Event], Rejection> {
        let errors = validate(command)
        if !errors.isEmpty { return .failure(Rejection(.invalid, errors.map(\.description).joined(separator: "; "))) }
        guard let c = command.as(RecordWebhookIgnored.self) else { return .failure(Rejection(.invalid, "not a webhook command: \(command.type)")) }
        if state != nil { return .failure(Rejection(.conflict, "delivery \(c.delivery) of \(c.provider) is recorded already")) }
        return .success([Event(WebhookIgnored(provider: c.provider, delivery: c.delivery, event: c.event, repository: c.repository, ref: c.ref,
                                              user: c.user, reason: c.reason))])
    }
}
