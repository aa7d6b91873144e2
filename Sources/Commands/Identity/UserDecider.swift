import Events

/// A user as its decider sees it.
public struct UserState: Hashable, Sendable, Codable {
    public var name: String
    public var roles: [PlatformRole]
    public var disabled: Bool

    public static func evolve(_ state: UserState?, _ envelope: EventEnvelope) -> UserState? {
        switch envelope.event.payload {
        case let e as UserCreated: return UserState(name: e.name, roles: [], disabled: false)
        case let e as PlatformRolesSet: var s = state; s?.roles = e.roles; return s
        case let e as UserDisabledSet: var s = state; s?.disabled = e.disabled; return s
        default: return state
        }
    }
}

extension UserAggregate: AggregateDecider {
    public typealias State = UserState
    public static func validate(_ command: Command) -> [ValidationError] { IdentityValidation.validate(command) }
    public static func evolve(_ state: UserState?, _ envelope: EventEnvelope) -> UserState? { UserState.evolve(state, envelope) }

    public static func decide(_ command: Command, state: UserState?) -> Result<[Event], Rejection> {
        let errors = validate(command)
        if !errors.isEmpty { return .failure(Rejection(.invalid, errors.map(\.description).joined(separator: "; "))) }
        switch command.payload {
        case let c as CreateUser:
            if state != nil { return .failure(Rejection(.conflict, "user \"\(c.name)\" already exists")) }
            return .success([Event(UserCreated(name: c.name, displayName: c.displayName, email: c.email))])
        case let c as SetPlatformRoles:
            guard let s = state else { return .failure(Rejection(.notFound, "no user \"\(c.user)\"")) }
            let roles = c.roles.sorted()
            if roles == s.roles { return .success([.unchanged(command, "user \"\(c.user)\" has exactly these platform roles already")]) }
            return .success([Event(PlatformRolesSet(user: c.user, roles: roles))])
        case let c as SetUserDisabled:
            guard let s = state else { return .failure(Rejection(.notFound, "no user \"\(c.name)\"")) }
            if s.disabled == c.disabled { return .success([.unchanged(command, "user \"\(c.name)\" is \(c.disabled ? "disabled" : "enabled") already")]) }
            return .success([Event(UserDisabledSet(name: c.name, disabled: c.disabled))])
        default:
            return .failure(Rejection(.invalid, "\(command.type) is not a command for a user"))
        }
    }
}
