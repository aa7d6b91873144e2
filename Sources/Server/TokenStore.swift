import Crypto
import EventLog
import Events
import Foundation
import Logging
import PostgresNIO

/// API tokens, stored as SHA-256 hashes (tokens are 160-bit random, so a fast hash is enough; the
/// plaintext exists only in the caller's hands). Each token maps to an actor that goes on every command.
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
    private let cacheTTL = Duration.seconds(30)

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

    public static func generateToken() -> String {
        var bytes = [UInt8](repeating: 0, count: 20)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        return "wharf_" + HashChain.hex(bytes)
    }

    public enum BootstrapResult: Equatable {
        /// Tokens existed already; nothing was created.
        case existing
        /// WHARF_BOOTSTRAP_TOKEN became the admin token.
        case fromEnvironment
        /// A new admin token was generated; show it once.
        case generated(String)
    }

    /// On first start, makes the admin token: the given one (WHARF_BOOTSTRAP_TOKEN) or a random one.
    /// A given token is also (re-)registered on later starts, so automation can rely on it.
    public func bootstrap(token given: String?) async throws -> BootstrapResult {
        if let given {
            guard given.count >= 16 else {
                throw BootstrapTokenTooShort()
            }
            try await database.client.query("""
                INSERT INTO wharf_api.tokens (token_hash, name, actor, role) VALUES (\(Self.hash(given)), 'bootstrap', 'user:admin', 'admin')
                ON CONFLICT (token_hash) DO NOTHING
                """, logger: database.logger)
            return .fromEnvironment
        }
        let generated = Self.generateToken()
        let rows = try await database.client.query("""
            INSERT INTO wharf_api.tokens (token_hash, name, actor, role)
            SELECT \(Self.hash(generated)), 'bootstrap', 'user:admin', 'admin' WHERE NOT EXISTS (SELECT 1 FROM wharf_api.tokens)
            RETURNING 1
            """, logger: database.logger)
        var inserted = false
        for try await _ in rows { inserted = true }
        return inserted ? .generated(generated) : .existing
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
    public var description: String { "WHARF_BOOTSTRAP_TOKEN must be at least 16 characters" }
}
