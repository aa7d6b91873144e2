import Events
import Foundation
import Projections

/// Answers "who is this token" and "may they do this", from the identity read model (and the legacy token table
/// for node agents and pre-user admin tokens). Answers are cached briefly per process: a revoked or expired token
/// stops working on every process within `tokenTTL`, a changed role within `grantsTTL`.
public final class Authorizer: @unchecked Sendable {
    let queries: ReadModelQueries
    let tokens: TokenStore
    let sso: JWTValidator?
    /// Makes the user of a first-seen SSO token (no roles), through the log.
    let provision: (@Sendable (JWTValidator.Identity) async throws -> Void)?
    static let tokenTTL = Duration.milliseconds(250)
    static let grantsTTL = Duration.seconds(1)
    /// A service's business line never changes (names stay reserved after destroy), so it may be kept longer.
    static let lineTTL = Duration.seconds(30)

    private let lock = NSLock()
    private var principals: [String: (principal: Principal?, reason: String, expires: Date?, at: ContinuousClock.Instant)] = [:]
    private var grants: [String: (grants: Grants, at: ContinuousClock.Instant)] = [:]
    private var serviceLines: [String: (line: String, at: ContinuousClock.Instant)] = [:]

    public init(queries: ReadModelQueries, tokens: TokenStore, sso: JWTValidator? = nil,
                provision: (@Sendable (JWTValidator.Identity) async throws -> Void)? = nil) {
        self.queries = queries; self.tokens = tokens; self.sso = sso; self.provision = provision
    }

    public struct Refused: Error, CustomStringConvertible { public var description: String }

    /// The principal of a bearer token, or why it is refused (unknown, revoked, expired, disabled user).
    public func authenticate(token: String) async throws -> Principal {
        let hash = TokenStore.hash(token)
        let now = ContinuousClock.now
        if let hit = lock.withLock({ principals[hash] }), now - hit.at < Self.tokenTTL {
            return try Self.valid(hit.principal, hit.reason, hit.expires)
        }
        var principal: Principal?
        var reason = "unknown or revoked token"
        var expires: Date?
        if let sso, token.split(separator: ".", omittingEmptySubsequences: false).count == 3 {
            // A JWT from the identity provider: its user is provisioned on first use, with no roles.
            do {
                let identity = try await sso.validate(token)
                expires = identity.expires
                switch try await queries.userDisabled(identity.user) {
                case true?: reason = "the user of this token is disabled"
                case false?: principal = Principal(kind: .user(identity.user), actor: "user:\(identity.user)", grants: try await grants(of: identity.user))
                case nil:
                    try await provision?(identity)
                    principal = Principal(kind: .user(identity.user), actor: "user:\(identity.user)", grants: Grants())
                }
            } catch let invalid as JWTValidator.Invalid {
                reason = invalid.description
            }
        } else if let p = try await queries.tokenPrincipal(sha256: hash) {
            expires = p.expiresAt
            if p.revoked {
                reason = "this token was revoked"
            } else if p.userDisabled {
                reason = "the user of this token is disabled"
            } else {
                principal = Principal(kind: .user(p.user), actor: "user:\(p.user)", grants: try await grants(of: p.user))
            }
        } else if let legacy = try await tokens.identity(for: token) {
            if legacy.role == "agent", try await !agentNodeExists(legacy.actor) {
                // A node agent's token dies with its node.
                reason = "the node of this agent token was removed"
            } else {
                principal = Principal(kind: legacy.role == "agent" ? .agent : .legacyAdmin, actor: legacy.actor,
                                      grants: legacy.role == "admin" ? Grants(platform: [.admin]) : Grants())
            }
        }
        let found = principal
        lock.withLock { principals[hash] = (found, reason, expires, now) }
        return try Self.valid(found, reason, expires)
    }

    private static func valid(_ principal: Principal?, _ reason: String, _ expires: Date?) throws -> Principal {
        guard let principal else { throw Refused(description: reason) }
        if let expires, expires <= Date() { throw Refused(description: "this token expired at \(WharfTime.format(expires))") }
        return principal
    }

    /// Whether the node of an agent actor ("agent:nginx/<cluster>/<node>") is still in its cluster.
    private func agentNodeExists(_ actor: String) async throws -> Bool {
        let parts = actor.split(separator: "/")
        guard parts.count == 3, parts[0] == "agent:nginx" else { return false }
        if case .noSuchNode = try await queries.nginxDesired(cluster: String(parts[1]), node: String(parts[2])) { return false }
        return true
    }

    public func grants(of user: String) async throws -> Grants {
        let now = ContinuousClock.now
        if let hit = lock.withLock({ grants[user] }), now - hit.at < Self.grantsTTL { return hit.grants }
        let fresh = try await queries.grants(of: user)
        lock.withLock { grants[user] = (fresh, now) }
        return fresh
    }

    /// The business line of a service; nil when there is no such service.
    func line(ofService name: String) async throws -> String? {
        let now = ContinuousClock.now
        if let hit = lock.withLock({ serviceLines[name] }), now - hit.at < Self.lineTTL { return hit.line }
        guard let line = try await queries.service(named: name)?.businessLine else { return nil }
        lock.withLock { serviceLines[name] = (line, now) }
        return line
    }

    /// Drops every cached answer (benchmarks of the cold path).
    public func forgetAll() { lock.withLock { principals.removeAll(); grants.removeAll(); serviceLines.removeAll() } }

    /// Drops what this process remembers of a token or user, so that its own changes take effect at once.
    func forget(user: String? = nil) {
        lock.withLock {
            principals.removeAll()
            if let user { grants[user] = nil } else { grants.removeAll() }
        }
    }

    /// The business line a line-scoped route acts in: from the body, a path parameter, or the named service's row.
    public func line(_ from: Requirement.LineFrom, parameters: [String: String], bodyLine: String?) async throws -> String? {
        switch from {
        case .body: return bodyLine
        case .line(let parameter): return parameters[parameter]
        case .service(let parameter):
            guard let name = parameters[parameter] else { return nil }
            return try await line(ofService: name)
        case .serviceInBody:
            guard let name = bodyLine else { return nil }
            return try await line(ofService: name)
        case .codeflow(let parameter):
            guard let name = parameters[parameter], let service = try await queries.codeflow(named: name)?.spec.service else { return nil }
            return try await line(ofService: service)
        case .build(let parameter):
            guard let id = parameters[parameter], let service = try await queries.build(id: id)?.service else { return nil }
            return try await line(ofService: service)
        }
    }

    /// A request's verdict: what is missing (nil: allowed) and, for an allowed line-scoped write by someone other
    /// than an admin, the line it was allowed in (carried on the command, re-checked by the processor against the log).
    public func authorize(_ requirement: Requirement, principal: Principal, parameters: [String: String], bodyLine: String?,
                          write: Bool) async throws -> (missing: String?, authorizedLine: String?) {
        if let missing = try await check(requirement, principal: principal, parameters: parameters, bodyLine: bodyLine) { return (missing, nil) }
        guard write, case .line(_, let from) = requirement, !principal.has(.admin) else { return (nil, nil) }
        return (nil, try await line(from, parameters: parameters, bodyLine: bodyLine))
    }

    /// nil when allowed; otherwise what is missing, in words for the 403 and the audit.
    public func check(_ requirement: Requirement, principal: Principal, parameters: [String: String], bodyLine: String?) async throws -> String? {
        if principal.has(.admin) { return nil }
        let g = principal.grants
        switch requirement {
        case .open, .webhook:
            return nil
        case .agent:
            return principal.isAgent ? nil : "an agent token of that node"
        case _ where principal.isAgent:
            return "a user token (an agent token opens only /v1/nginx/agent/...)"
        case .anyone, .filteredList:
            return nil
        case .platformRead, .infrastructureRead:
            return principal.readsAll ? nil : requirement.describes
        case .platformWrite:
            return requirement.describes
        case .infrastructureWrite:
            return principal.has(.operator) ? nil : requirement.describes
        case .selfOrAdmin(let parameter):
            return principal.user == parameters[parameter] ? nil : requirement.describes
        case .selfOrReader(let parameter):
            return principal.user == parameters[parameter] || principal.readsAll ? nil : requirement.describes
        case .tokenOwner(let parameter):
            guard let id = parameters[parameter], let owner = try await queries.tokenOwner(id: id) else { return requirement.describes }
            return owner == principal.user ? nil : requirement.describes
        case .line(let verb, let from):
            if verb == .read, principal.readsAll { return nil }
            let line = try await self.line(from, parameters: parameters, bodyLine: bodyLine)
            guard let line else { return "\(verb.role.rawValue) in the service's business line" }
            if let held = g.lines[line], held >= verb.role { return nil }
            return "\(verb.role.rawValue) in business line \"\(line)\"" + (g.lines[line].map { " (holds \($0.rawValue))" } ?? "")
        }
    }
}

