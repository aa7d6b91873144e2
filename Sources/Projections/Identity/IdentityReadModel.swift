import Events
import EventLog
import Logging
import PostgresNIO

/// `users`, `business_lines`, `memberships` and `tokens` (hashes only): what authorization reads on every request.
struct IdentityReadModel: ReadModel {
    let name = "identity"
    let layoutVersion = 1
    let tables = ["users", "business_lines", "memberships", "tokens"]

    func createStatements(schema s: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(s).users (
                name text PRIMARY KEY,
                display_name text NOT NULL,
                email text NOT NULL,
                platform_roles text[] NOT NULL DEFAULT '{}',
                disabled boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL,
                created_by text NOT NULL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).business_lines (
                name text PRIMARY KEY,
                display_name text NOT NULL,
                created_at timestamptz NOT NULL,
                created_by text NOT NULL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).memberships (
                line text NOT NULL,
                "user" text NOT NULL,
                role text NOT NULL,
                granted_at timestamptz NOT NULL,
                granted_by text NOT NULL,
                PRIMARY KEY (line, "user")
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).tokens (
                id text PRIMARY KEY,
                "user" text NOT NULL,
                description text NOT NULL,
                sha256 text NOT NULL,
                expires_at timestamptz,
                revoked boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL,
                created_by text NOT NULL
            )
            """,
        ]
    }

    func indexStatements(schema s: String) -> [String] {
        [
            "CREATE UNIQUE INDEX IF NOT EXISTS tokens_sha256 ON \(s).tokens (sha256)",
            "CREATE INDEX IF NOT EXISTS memberships_user ON \(s).memberships (\"user\")",
        ]
    }

    /// Identity events are few: applied one by one, in log order.
    func apply(_ events: ProjectedEvents, schema s: String, on c: PostgresConnection, logger: Logger) async throws {
        for event in events {
            let e = event.envelope
            guard let kind = AggregateKey.kind(of: e.aggregate),
                  kind == UserAggregate.kind || kind == BusinessLineAggregate.kind || kind == TokenAggregate.kind else { continue }
            func run(_ sql: String, _ values: any PostgresEncodable...) async throws {
                try await c.query(PostgresQuery(unsafeSQL: sql, binds: binds(list: values)), logger: logger)
            }
            switch e.event.payload {
            case let p as UserCreated:
                try await run("""
                    INSERT INTO \(s).users (name, display_name, email, created_at, created_by) VALUES ($1, $2, $3, $4::timestamptz, $5)
                    ON CONFLICT DO NOTHING
                    """, p.name, p.displayName, p.email, e.time, e.actor)
            case let p as PlatformRolesSet:
                try await run("UPDATE \(s).users SET platform_roles = $2 WHERE name = $1", p.user, p.roles.map(\.rawValue))
            case let p as UserDisabledSet:
                try await run("UPDATE \(s).users SET disabled = $2 WHERE name = $1", p.name, p.disabled)
            case let p as BusinessLineCreated:
                try await run("""
                    INSERT INTO \(s).business_lines (name, display_name, created_at, created_by) VALUES ($1, $2, $3::timestamptz, $4)
                    ON CONFLICT DO NOTHING
                    """, p.name, p.displayName, e.time, e.actor)
            case let p as MemberRoleSet:
                try await run("""
                    INSERT INTO \(s).memberships (line, "user", role, granted_at, granted_by) VALUES ($1, $2, $3, $4::timestamptz, $5)
                    ON CONFLICT (line, "user") DO UPDATE SET role = EXCLUDED.role, granted_at = EXCLUDED.granted_at, granted_by = EXCLUDED.granted_by
                    """, p.line, p.user, p.role.rawValue, e.time, e.actor)
            case let p as MemberRemoved:
                try await run("DELETE FROM \(s).memberships WHERE line = $1 AND \"user\" = $2", p.line, p.user)
            case let p as TokenIssued:
                try await run("""
                    INSERT INTO \(s).tokens (id, "user", description, sha256, expires_at, created_at, created_by)
                    VALUES ($1, $2, $3, $4, nullif($5, '')::timestamptz, $6::timestamptz, $7) ON CONFLICT DO NOTHING
                    """, p.id, p.user, p.description, p.sha256, p.expiresAt ?? "", e.time, e.actor)
            case let p as TokenRevoked:
                try await run("UPDATE \(s).tokens SET revoked = true WHERE id = $1", p.id)
            default:
                continue
            }
        }
    }
}

extension UserAggregate: ProjectedAggregate {
    /// One read model serves users, business lines and tokens; it is listed once, here.
    public static var readModels: [any ReadModel] { [IdentityReadModel()] }
}
