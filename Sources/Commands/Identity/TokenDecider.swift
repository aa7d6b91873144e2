import Events

/// A token as its decider sees it.
public struct TokenState: Hashable, Sendable, Codable {
    public var id: String
    public var user: String
    public var revoked: Bool

    public static func evolve(_ state: TokenState?, _ envelope: EventEnvelope) -> TokenState? {
        switch envelope.event.payload {
        case let e as TokenIssued: return TokenState(id: e.id, user: e.user, revoked: false)
        case is TokenRevoked: var s = state; s?.revoked = true; return s
        default: return state
        }
    }
}

extension TokenAggregate: AggregateDecider {
    public typealias State = TokenState
    public static func validate(_ command: Command) -> [ValidationError] { IdentityValidation.validate(command) }
    public static func evolve(_ state: TokenState?, _ envelope: EventEnvelope) -> TokenState? { TokenState.evolve(state, envelope) }

    public static func decide(_ command: Command, state: TokenState?) -> Result<[Event], Rejection> {
        let errors = validate(command)
        if !errors.isEmpty { return .failure(Rejection(.invalid, errors.map(\.description).joined(separator: "; "))) }
        switch command.payload {
        case let c as IssueToken:
            if state != nil { return .failure(Rejection(.conflict, "token \(c.id) exists already")) }
            return .success([Event(TokenIssued(id: c.id, user: c.user, description: c.description, sha256: c.sha256, expiresAt: c.expiresAt))])
        case let c as RevokeToken:
            guard let s = state else { return .failure(Rejection(.notFound, "no token \(c.id)")) }
            if s.revoked { return .success([.unchanged(command, "token \(c.id) is revoked already")]) }
            return .success([Event(TokenRevoked(id: c.id, user: s.user))])
        default:
            return .failure(Rejection(.invalid, "\(command.type) is not a command for a token"))
        }
    }
}
