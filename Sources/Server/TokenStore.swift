import Crypto
import EventLog
import Events
import Foundation
import Logging
import PostgresNIO

/// Node agent tokens (and admin tokens of installations from before users), stored as SHA-256 hashes (tokens are
/// 160-bit random, so a fast hash is enough; the plaintext exists only in the caller's hands). People's tokens are
/// aggregates in the log (`IssueToken`); this table also holds the gateway's idempotency keys.
public final class TokenStore: @unchecked Sendable {
    private let database: Database
    private let cacheLock = NSLock()
    /// token hash -> (identity, when looked up). Entries expire so a revoked token stops working within `cacheTTL`.
    private var cache: [String: (identity: Identity, at: ContinuousClock.Instant)] = [:]

    /// Who a token speaks for: the actor on its commands and its role ("admin", "user", or "agent" for node agents).
    public struct Identity: Sendable, Hashable {
        public var actor: String
        public var role: String
    }
    /// Re-issuing an agent's token revokes the old one on every process within this.
    private let cacheTTL = Duration.milliseconds(250)

    public init(database: Database) { self.database = database }

    static let statements = [
        "SELECT pg_advisory_xact_lock(\(0x5748_4152_4633 as Int64))",
        "CREATE SCHEMA IF NOT EXISTS wharf_api",
        """
        CREATE TABLE IF NOT EXISTS wharf_api.tokens (
            token_hash text PRIMARY KEY,
            name text NOT NULL,
            actor text NOT NULL,
            role text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS wharf_api.idempotency_keys (
            actor text NOT NULL,
            key text NOT NULL,
            fingerprint text NOT NULL,
            command_id text NOT NULL,
            command_position text,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (actor, key)
        )
        """,
    ]

    public func prepare() async throws {
        try await database.execute(statements: Self.statements)
    }

    public static func hash(_ token: String) -> String {
        HashChain.hex(SHA256.hash(data: Array(token.utf8)))
    }

    public static func generateToken() -> String { "wharf_" + randomHex(bytes: 20) }

    /// A personal token's public id: 16 hex digits, random, independent of the secret (ids are listed and logged).
    public static func generateTokenId() -> String { randomHex(bytes: 8) }

    private static func randomHex(bytes count: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: count)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        return HashChain.hex(bytes)
    }

    /// Whether an admin token from before users existed is registered (such installations have their admin).
    public func hasLegacyAdmin() async throws -> Bool {
        let rows = try await database.client.query("SELECT 1 FROM wharf_api.tokens WHERE role = 'admin' LIMIT 1", logger: database.logger)
        for try await _ in rows { return true }
        return false
    }

    /// The actor for a token, or nil.
    public func actor(for token: String) async throws -> String? {
        try await identity(for: token)?.actor
    }

    public func identity(for token: String) async throws -> Identity? {
        let hash = Self.hash(token)
        let now = ContinuousClock.now
        if let hit = cacheLock.withLock({ cache[hash] }), now - hit.at < cacheTTL { return hit.identity }
        let rows = try await database.client.query("SELECT actor, role FROM wharf_api.tokens WHERE token_hash = \(hash)", logger: database.logger)
        for try await (actor, role) in rows.decode((String, String).self) {
            let identity = Identity(actor: actor, role: role)
            cacheLock.withLock { cache[hash] = (identity, now) }
            return identity
        }
        cacheLock.withLock { cache[hash] = nil }
        return nil
    }
}

extension TokenStore {
    /// Issues a new token (returned once; only its hash is kept). An existing token of the same name is replaced, so
    /// re-issuing an agent's token revokes the old one.
    public func issue(name: String, actor: String, role: String) async throws -> String {
        let token = Self.generateToken()
        try await database.client.withTransaction(logger: database.logger) { c in
            try await c.query("DELETE FROM wharf_api.tokens WHERE name = \(name) AND role = \(role)", logger: database.logger)
            try await c.query("INSERT INTO wharf_api.tokens (token_hash, name, actor, role) VALUES (\(Self.hash(token)), \(name), \(actor), \(role))",
                              logger: database.logger)
        }
        cacheLock.withLock { cache.removeAll() }
        return token
    }
}

public struct BootstrapTokenTooShort: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "WHARF_BOOTSTRAP_TOKEN must be at least 16 characters" }
}
