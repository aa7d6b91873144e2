import Events

/// A business line as its decider sees it: its members and their roles.
public struct BusinessLineState: Hashable, Sendable, Codable {
    public var name: String
    public var members: [String: LineRole]

    public static func evolve(_ state: BusinessLineState?, _ envelope: EventEnvelope) -> BusinessLineState? {
        switch envelope.event.payload {
        case let e as BusinessLineCreated: return BusinessLineState(name: e.name, members: [:])
        case let e as MemberRoleSet: var s = state; s?.members[e.user] = e.role; return s
        case let e as MemberRemoved: var s = state; s?.members[e.user] = nil; return s
        default: return state
        }
    }
}

extension BusinessLineAggregate: AggregateDecider {
    public typealias State = BusinessLineState
    public static func validate(_ command: Command) -> [ValidationError] { IdentityValidation.validate(command) }
    public static func evolve(_ state: BusinessLineState?, _ envelope: EventEnvelope) -> BusinessLineState? {
        BusinessLineState.evolve(state, envelope)
    }

    /// Whether the member exists as a user is the API's check (another aggregate); the decider knows the line.
    public static func decide(_ command: Command, state: BusinessLineState?) -> Result<[Event], Rejection> {
        let errors = validate(command)
        if !errors.isEmpty { return .failure(Rejection(.invalid, errors.map(\.description).joined(separator: "; "))) }
        switch command.payload {
        case let c as CreateBusinessLine:
            if state != nil { return .failure(Rejection(.conflict, "business line \"\(c.name)\" already exists")) }
            return .success([Event(BusinessLineCreated(name: c.name, displayName: c.displayName))])
        case let c as SetMemberRole:
            guard let s = state else { return .failure(Rejection(.notFound, "no business line \"\(c.line)\"")) }
            if s.members[c.user] == c.role {
                return .success([.unchanged(command, "\"\(c.user)\" is \(c.role.rawValue) of business line \"\(c.line)\" already")])
            }
            return .success([Event(MemberRoleSet(line: c.line, user: c.user, role: c.role))])
        case let c as RemoveMember:
            guard let s = state else { return .failure(Rejection(.notFound, "no business line \"\(c.line)\"")) }
            guard s.members[c.user] != nil else {
                return .failure(Rejection(.notFound, "\"\(c.user)\" holds no role in business line \"\(c.line)\""))
            }
            return .success([Event(MemberRemoved(line: c.line, user: c.user))])
        default:
            return .failure(Rejection(.invalid, "\(command.type) is not a command for a business line"))
        }
    }
}
