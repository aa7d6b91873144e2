import EventLog
import Foundation
import Logging
import PostgresNIO

/// Processor snapshots in Postgres (`wharf_snapshots.processor`), beside the log they summarise. Each is one row
/// written in one statement, so a process killed while writing leaves either the whole row or none; its content
/// hash catches anything else. The newest few per partition are kept.
public struct SnapshotStore: Sendable {
    public struct Stored: Sendable {
        public var eventsNext: Int64
        public var sha256: String
        public var body: [UInt8]
        /// The processor's signature over the content hash (see `CheckpointSigner.signSnapshot`); nil when unsigned.
        public var signature: String?
    }

    public static let kept = 3
    let database: Database

    public init(database: Database) { self.database = database }

    public func prepare() async throws {
        try await database.execute(statements: [
            "CREATE SCHEMA IF NOT EXISTS wharf_snapshots",
            """
            CREATE TABLE IF NOT EXISTS wharf_snapshots.processor (
                partition int NOT NULL, events_next bigint NOT NULL, sha256 text NOT NULL, body bytea NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (partition, events_next)
            )
            """,
            "ALTER TABLE wharf_snapshots.processor ADD COLUMN IF NOT EXISTS signature text",
        ])
    }

    /// Newest first.
    public func load(partition: Int) async throws -> [Stored] {
        let rows = try await database.client.query("""
            SELECT events_next, sha256, body, signature FROM wharf_snapshots.processor WHERE partition = \(partition)
             ORDER BY events_next DESC LIMIT \(Self.kept)
            """, logger: database.logger)
        var out: [Stored] = []
        for try await (next, sha, body, signature) in rows.decode((Int64, String, ByteBuffer, String?).self) {
            out.append(Stored(eventsNext: next, sha256: sha, body: Array(buffer: body), signature: signature))
        }
        return out
    }

    public func save(partition: Int, eventsNext: Int64, body: [UInt8], sha256: String, signature: String?) async throws {
        try await database.client.query("""
            WITH saved AS (
              INSERT INTO wharf_snapshots.processor (partition, events_next, sha256, body, signature)
              VALUES (\(partition), \(eventsNext), \(sha256), \(ByteBuffer(bytes: body)), \(signature))
              ON CONFLICT (partition, events_next) DO UPDATE SET sha256 = EXCLUDED.sha256, body = EXCLUDED.body,
                signature = EXCLUDED.signature, created_at = now()
              RETURNING 1)
            DELETE FROM wharf_snapshots.processor WHERE partition = \(partition) AND events_next < (
              SELECT min(events_next) FROM (SELECT events_next FROM wharf_snapshots.processor WHERE partition = \(partition)
                                             ORDER BY events_next DESC LIMIT \(Self.kept - 1)) newest)
            """, logger: database.logger)
    }
}
