import EventLog
import Events
import Foundation
import PostgresNIO

/// Who a token speaks for, as authorization needs it on every request.
public struct TokenPrincipal: Sendable, Hashable {
    public var tokenId: String
    public var user: String
    public var expiresAt: Date?
    public var revoked: Bool
    public var userDisabled: Bool
}

/// What a user may do: platform roles and a role per business line.
public struct Grants: Sendable, Hashable {
    public var platform: Set<PlatformRole>
    public var lines: [String: LineRole]
    public init(platform: Set<PlatformRole> = [], lines: [String: LineRole] = [:]) { self.platform = platform; self.lines = lines }
}

extension ReadModelQueries {
    private func identityRows<T>(_ sql: String, _ values: any PostgresEncodable..., decode: (PostgresRow) throws -> T) async throws -> [T] {
        try await require("identity")
        let bindings = try binds(list: values)
        return try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: database.logger)
            var out: [T] = []
            for try await row in rows { out.append(try decode(row)) }
            return out
        }
    }

    /// The token with this SHA-256, revoked or not (nil when no such token was ever issued).
    public func tokenPrincipal(sha256: String) async throws -> TokenPrincipal? {
        try await identityRows("""
            SELECT t.id, t."user", t.expires_at, t.revoked, coalesce(u.disabled, true)
              FROM \(schema).tokens t LEFT JOIN \(schema).users u ON u.name = t."user" WHERE t.sha256 = $1
            """, sha256) { row in
            let r = try row.decode((String, String, Date?, Bool, Bool).self)
            return TokenPrincipal(tokenId: r.0, user: r.1, expiresAt: r.2, revoked: r.3, userDisabled: r.4)
        }.first
    }

    public func grants(of user: String) async throws -> Grants {
        let platform = try await identityRows("SELECT unnest(platform_roles) FROM \(schema).users WHERE name = $1", user) {
            try $0.decode(String.self)
        }
        let lines = try await identityRows("SELECT line, role FROM \(schema).memberships WHERE \"user\" = $1", user) {
            try $0.decode((String, String).self)
        }
        return Grants(platform: Set(platform.compactMap(PlatformRole.init(rawValue:))),
                      lines: Dictionary(lines.compactMap { l in LineRole(rawValue: l.1).map { (l.0, $0) } }) { a, _ in a })
    }

    /// Whether the user is disabled; nil when there is no such user.
    public func userDisabled(_ name: String) async throws -> Bool? {
        try await identityRows("SELECT disabled FROM \(schema).users WHERE name = $1", name) { try $0.decode(Bool.self) }.first
    }

    public func userExists(_ name: String) async throws -> Bool {
        try await !identityRows("SELECT 1 FROM \(schema).users WHERE name = $1", name) { _ in 1 }.isEmpty
    }

    public func businessLineExists(_ name: String) async throws -> Bool {
        try await !identityRows("SELECT 1 FROM \(schema).business_lines WHERE name = $1", name) { _ in 1 }.isEmpty
    }

    /// Whether any user holds the admin platform role (the first admin is made by bootstrap only).
    public func anyAdmin() async throws -> Bool {
        try await !identityRows("SELECT 1 FROM \(schema).users WHERE 'admin' = ANY(platform_roles) LIMIT 1") { _ in 1 }.isEmpty
    }

    /// The user a token belongs to (nil when there is no such token).
    public func tokenOwner(id: String) async throws -> String? {
        try await identityRows("SELECT \"user\" FROM \(schema).tokens WHERE id = $1", id) { try $0.decode(String.self) }.first
    }

    /// JSON of the API: users (only `only` when given), with platform roles and memberships.
    public func usersJSON(only: String? = nil) async throws -> String {
        try await identityRows("""
            SELECT jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
                     'name', u.name, 'displayName', u.display_name, 'email', u.email, 'disabled', u.disabled,
                     'platformRoles', to_jsonb(u.platform_roles),
                     'businessLines', (SELECT coalesce(jsonb_object_agg(m.line, m.role), '{}'::jsonb) FROM \(schema).memberships m WHERE m."user" = u.name),
                     'createdAt', \(ProjectionWriter.timeText("u.created_at")), 'createdBy', u.created_by) ORDER BY u.name), '[]'::jsonb))::text
              FROM \(schema).users u WHERE ($1 = '' OR u.name = $1)
            """, only ?? "") { try $0.decode(String.self) }.first ?? #"{"items":[]}"#
    }

    /// Business lines (only `only` when given), each with its members.
    public func businessLinesJSON(only: [String]? = nil) async throws -> String {
        try await identityRows("""
            SELECT jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
                     'name', b.name, 'displayName', b.display_name,
                     'members', (SELECT coalesce(jsonb_agg(jsonb_build_object('user', m."user", 'role', m.role) ORDER BY m."user"), '[]'::jsonb)
                                   FROM \(schema).memberships m WHERE m.line = b.name),
                     'createdAt', \(ProjectionWriter.timeText("b.created_at")), 'createdBy', b.created_by) ORDER BY b.name), '[]'::jsonb))::text
              FROM \(schema).business_lines b WHERE ($2 OR b.name = ANY($1))
            """, only ?? [], only == nil) { try $0.decode(String.self) }.first ?? #"{"items":[]}"#
    }

    /// A user's tokens: ids, descriptions, expiry and state; never the hashes.
    public func tokensJSON(of user: String) async throws -> String {
        try await identityRows("""
            SELECT jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
                     'id', id, 'description', description, 'expiresAt', \(ProjectionWriter.timeText("expires_at")), 'revoked', revoked,
                     'createdAt', \(ProjectionWriter.timeText("created_at")), 'createdBy', created_by) ORDER BY created_at, id), '[]'::jsonb))::text
              FROM \(schema).tokens WHERE "user" = $1
            """, user) { try $0.decode(String.self) }.first ?? #"{"items":[]}"#
    }
}
