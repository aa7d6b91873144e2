/// Facts about users, business lines, tokens and refused attempts.

public struct UserCreated: EventPayload {
    public static let type = "UserCreated"
    public var name: String
    public var displayName: String
    public var email: String
    public init(name: String, displayName: String, email: String) { self.name = name; self.displayName = displayName; self.email = email }
}

public struct PlatformRolesSet: EventPayload {
    public static let type = "PlatformRolesSet"
    public var user: String
    /// Sorted, without duplicates.
    public var roles: [PlatformRole]
    public init(user: String, roles: [PlatformRole]) { self.user = user; self.roles = roles }
}

public struct UserDisabledSet: EventPayload {
    public static let type = "UserDisabledSet"
    public var name: String
    public var disabled: Bool
    public init(name: String, disabled: Bool) { self.name = name; self.disabled = disabled }
}

public struct BusinessLineCreated: EventPayload {
    public static let type = "BusinessLineCreated"
    public var name: String
    public var displayName: String
    public init(name: String, displayName: String) { self.name = name; self.displayName = displayName }
}

public struct MemberRoleSet: EventPayload {
    public static let type = "MemberRoleSet"
    public var line: String
    public var user: String
    public var role: LineRole
    public init(line: String, user: String, role: LineRole) { self.line = line; self.user = user; self.role = role }
}

public struct MemberRemoved: EventPayload {
    public static let type = "MemberRemoved"
    public var line: String
    public var user: String
    public init(line: String, user: String) { self.line = line; self.user = user }
}

public struct TokenIssued: EventPayload {
    public static let type = "TokenIssued"
    public var id: String
    public var user: String
    public var description: String
    public var sha256: String
    public var expiresAt: String?
    public init(id: String, user: String, description: String, sha256: String, expiresAt: String?) {
        self.id = id; self.user = user; self.description = description; self.sha256 = sha256; self.expiresAt = expiresAt
    }
}

public struct TokenRevoked: EventPayload {
    public static let type = "TokenRevoked"
    public var id: String
    public var user: String
    public init(id: String, user: String) { self.id = id; self.user = user }
}

public struct AccessDenied: EventPayload {
    public static let type = "AccessDenied"
    public var subject: String
    public var method: String
    public var path: String
    public var permission: String
    public init(subject: String, method: String, path: String, permission: String) {
        self.subject = subject; self.method = method; self.path = path; self.permission = permission
    }
}
