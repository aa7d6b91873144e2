/// Users: keys "user/<name>".
public enum UserAggregate: AggregateKind {
    public static let kind = "user"
    public static let commandTypes: [any CommandPayload.Type] = [CreateUser.self, SetPlatformRoles.self, SetUserDisabled.self]
    public static let eventTypes: [any EventPayload.Type] = [UserCreated.self, PlatformRolesSet.self, UserDisabledSet.self]
}

/// Business lines and who holds which role in them: keys "business-line/<name>".
public enum BusinessLineAggregate: AggregateKind {
    public static let kind = "business-line"
    public static let commandTypes: [any CommandPayload.Type] = [CreateBusinessLine.self, SetMemberRole.self, RemoveMember.self]
    public static let eventTypes: [any EventPayload.Type] = [BusinessLineCreated.self, MemberRoleSet.self, MemberRemoved.self]
}

/// Personal API tokens: keys "token/<id>". Only a hash of the secret is ever in the log.
public enum TokenAggregate: AggregateKind {
    public static let kind = "token"
    public static let commandTypes: [any CommandPayload.Type] = [IssueToken.self, RevokeToken.self]
    public static let eventTypes: [any EventPayload.Type] = [TokenIssued.self, TokenRevoked.self]
}

/// Refused attempts: keys "access/<actor>". A write the policy denies never reaches its own decider; the gateway
/// records the attempt here instead, so the audit shows who tried what.
public enum AccessAggregate: AggregateKind {
    public static let kind = "access"
    public static let commandTypes: [any CommandPayload.Type] = [RecordAccessDenied.self]
    public static let eventTypes: [any EventPayload.Type] = [AccessDenied.self]
}
