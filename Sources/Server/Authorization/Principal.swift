import Events
import Projections

/// Who is calling: a user with their grants, a node agent, or the admin of a token from before users existed.
public struct Principal: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A personal token of a user (or a user from a JWT).
        case user(String)
        /// A node agent's token: only its node's agent endpoints.
        case agent
        /// A token from `wharf_api.tokens` with role admin (installations from before users): a platform admin.
        case legacyAdmin
    }

    public var kind: Kind
    /// What goes on its commands: "user:alice", "agent:nginx/edge/ng-1".
    public var actor: String
    public var grants: Grants

    public var user: String? { if case .user(let name) = kind { name } else { nil } }
    public var isAgent: Bool { kind == .agent }
    public func has(_ role: PlatformRole) -> Bool { grants.platform.contains(role) }
    /// Reads everything: admin, operator, auditor.
    public var readsAll: Bool { !grants.platform.isEmpty }
}
