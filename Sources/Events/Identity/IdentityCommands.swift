/// Intents about users, business lines, tokens and refused attempts.

public struct CreateUser: CommandPayload {
    public static let type = "CreateUser"
    public var aggregate: String { AggregateKey.user(name) }
    public var name: String
    public var displayName: String
    public var email: String
    public init(name: String, displayName: String, email: String) { self.name = name; self.displayName = displayName; self.email = email }
}

/// Replaces the user's platform roles (an empty list removes them all).
public struct SetPlatformRoles: CommandPayload {
    public static let type = "SetPlatformRoles"
    public var aggregate: String { AggregateKey.user(user) }
    public var user: String
    public var roles: [PlatformRole]
    public init(user: String, roles: [PlatformRole]) { self.user = user; self.roles = roles }
}

/// A disabled user's tokens stop working; the user and their history stay.
public struct SetUserDisabled: CommandPayload {
    public static let type = "SetUserDisabled"
    public var aggregate: String { AggregateKey.user(name) }
    public var name: String
    public var disabled: Bool
    public init(name: String, disabled: Bool) { self.name = name; self.disabled = disabled }
}

public struct CreateBusinessLine: CommandPayload {
    public static let type = "CreateBusinessLine"
    public var aggregate: String { AggregateKey.businessLine(name) }
    public var name: String
    public var displayName: String
    public init(name: String, displayName: String) { self.name = name; self.displayName = displayName }
}

/// Gives `user` `role` in the line, replacing any role they had there.
public struct SetMemberRole: CommandPayload {
    public static let type = "SetMemberRole"
    public var aggregate: String { AggregateKey.businessLine(line) }
    public var line: String
    public var user: String
    public var role: LineRole
    public init(line: String, user: String, role: LineRole) { self.line = line; self.user = user; self.role = role }
}

public struct RemoveMember: CommandPayload {
    public static let type = "RemoveMember"
    public var aggregate: String { AggregateKey.businessLine(line) }
    public var line: String
    public var user: String
    public init(line: String, user: String) { self.line = line; self.user = user }
}

/// A new personal token of `user`. The API generates the secret, shows it once and sends only its SHA-256.
public struct IssueToken: CommandPayload {
    public static let type = "IssueToken"
    public var aggregate: String { AggregateKey.token(id) }
    public var id: String
    public var user: String
    public var description: String
    /// SHA-256 (hex) of the secret.
    public var sha256: String
    /// RFC 3339; absent for a token that does not expire.
    public var expiresAt: String?
    public init(id: String, user: String, description: String, sha256: String, expiresAt: String? = nil) {
        self.id = id; self.user = user; self.description = description; self.sha256 = sha256; self.expiresAt = expiresAt
    }
}

public struct RevokeToken: CommandPayload {
    public static let type = "RevokeToken"
    public var aggregate: String { AggregateKey.token(id) }
    public var id: String
    public init(id: String) { self.id = id }
}

/// Appended by the gateway for a write the policy refused (the envelope's actor is who tried).
public struct RecordAccessDenied: CommandPayload {
    public static let type = "RecordAccessDenied"
    public var aggregate: String { AggregateKey.access(subject) }
    /// The actor who was refused (equal to the envelope's actor).
    public var subject: String
    public var method: String
    public var path: String
    /// The permission that was missing, e.g. "deploy on business-line/pay".
    public var permission: String
    public init(subject: String, method: String, path: String, permission: String) {
        self.subject = subject; self.method = method; self.path = path; self.permission = permission
    }
}
