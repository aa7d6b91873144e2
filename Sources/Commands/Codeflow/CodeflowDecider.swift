import Events

/// A codeflow as its decider sees it.
public struct CodeflowState: Hashable, Sendable, Codable {
    public var name: String
    public var spec: CodeflowSpec
    public var revision: Int
    public var hasSecret: Bool

    public static func evolve(_ state: CodeflowState?, _ envelope: EventEnvelope) -> CodeflowState? {
        guard let e = envelope.event.as(CodeflowDefined.self) else { return state }
        return CodeflowState(name: e.name, spec: e.spec, revision: e.revision, hasSecret: (state?.hasSecret ?? false) || e.webhookSecret != nil)
    }
}

extension CodeflowAggregate: AggregateDecider {
    public typealias State = CodeflowState
    public static func validate(_ command: Command) -> [ValidationError] { CodeflowValidation.validate(command) }
    public static func evolve(_ state: CodeflowState?, _ envelope: EventEnvelope) -> CodeflowState? { CodeflowState.evolve(state, envelope) }

    public static func decide(_ command: Command, state: CodeflowState?) -> Result<[Event], Rejection> {
        let errors = validate(command)
        if !errors.isEmpty { return .failure(Rejection(.invalid, errors.map(\.description).joined(separator: "; "))) }
        guard let c = command.as(PutCodeflow.self) else { return .failure(Rejection(.invalid, "not a codeflow command: \(command.type)")) }
        if let s = state {
            // A codeflow builds for one service: moving it would move who may trigger it to another business line.
            if s.spec.service != c.spec.service {
                return .failure(Rejection(.conflict, "codeflow \"\(c.name)\" builds service \"\(s.spec.service)\"; its service cannot change (make another codeflow)"))
            }
            if s.spec == c.spec && c.webhookSecret == nil {
                return .success([.unchanged(command, "codeflow \"\(c.name)\" is exactly like this already")])
            }
            return .success([Event(CodeflowDefined(name: c.name, spec: c.spec, webhookSecret: c.webhookSecret, revision: s.revision + 1))])
        }
        guard c.webhookSecret != nil else { return .failure(Rejection(.invalid, "webhookSecret: a new codeflow needs one")) }
        return .success([Event(CodeflowDefined(name: c.name, spec: c.spec, webhookSecret: c.webhookSecret, revision: 1))])
    }
}
