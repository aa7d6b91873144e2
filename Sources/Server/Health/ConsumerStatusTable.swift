import EventLog
import Foundation
import Logging
import PostgresNIO

/// `wharf_api.consumer_status`: every process's partition consumers (owned partitions, positions, halts), written
/// by each process every second. `wharf status` reads it, and each process learns the others' halts from it.
public struct ConsumerStatusTable: Sendable {
    public struct Row: Sendable, Hashable {
        public var process: String
        public var group: String
        public var partition: Int
        public var topic: String
        public var owned: Bool
        public var next: Int64
        public var halted: String?
        /// Seconds since the process last wrote its rows.
        public var age: Double
    }

    /// A process that has not written for this long is gone (its rows stay, shown as stale, for an hour).
    public static let liveWithin: Double = 10

    let database: Database

    public init(database: Database) { self.database = database }

    public func prepare() async throws {
        try await database.execute(statements: [
            "CREATE SCHEMA IF NOT EXISTS wharf_api",
            """
            CREATE TABLE IF NOT EXISTS wharf_api.consumer_status (
                process text NOT NULL, group_name text NOT NULL, partition int NOT NULL, topic text NOT NULL,
                owned boolean NOT NULL, next_offset bigint NOT NULL, halted text, updated_at timestamptz NOT NULL,
                PRIMARY KEY (process, group_name, partition)
            )
            """,
        ])
    }

    /// Replaces this process's rows with `health`'s snapshot.
    func write(process: String, health: PartitionHealth) async throws {
        let rows = health.snapshot.sorted { $0.key < $1.key }
        try await database.client.withTransaction(logger: database.logger) { c in
            try await c.query("DELETE FROM wharf_api.consumer_status WHERE process = \(process) OR updated_at < now() - interval '1 hour'",
                              logger: database.logger)
            guard !rows.isEmpty else { return }
            try await c.query("""
                INSERT INTO wharf_api.consumer_status (process, group_name, partition, topic, owned, next_offset, halted, updated_at)
                SELECT \(process), g, p, t, o, n, nullif(h, ''), now()
                  FROM unnest(\(rows.map(\.key.group)), \(rows.map(\.key.partition)), \(rows.map(\.value.topic)), \(rows.map(\.value.owned)),
                              \(rows.map(\.value.next)), \(rows.map { $0.value.halted ?? "" })) AS u(g, p, t, o, n, h)
                """, logger: database.logger)
        }
    }

    func remove(process: String) async {
        _ = try? await database.client.query("DELETE FROM wharf_api.consumer_status WHERE process = \(process)", logger: database.logger)
    }

    public func rows() async throws -> [Row] {
        let result = try await database.client.query("""
            SELECT process, group_name, partition, topic, owned, next_offset, halted, extract(epoch FROM now() - updated_at)::float8
              FROM wharf_api.consumer_status ORDER BY group_name, partition, process
            """, logger: database.logger)
        var out: [Row] = []
        for try await (process, group, partition, topic, owned, next, halted, age)
            in result.decode((String, String, Int, String, Bool, Int64, String?, Double).self) {
            out.append(Row(process: process, group: group, partition: partition, topic: topic, owned: owned, next: next, halted: halted, age: age))
        }
        return out
    }
}

/// Writes this process's partition health to the status table every second and takes in the halts that the
/// other live processes report, so that /healthz and writes anywhere answer for the whole installation.
final class ConsumerStatusReporter: Sendable {
    let table: ConsumerStatusTable
    let health: PartitionHealth
    let process: String
    let logger: Logger

    init(database: Database, health: PartitionHealth, logger: Logger) {
        table = ConsumerStatusTable(database: database)
        self.health = health
        self.logger = logger
        process = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(WharfProcessStart.id)"
    }

    func run() async {
        while !Task.isCancelled {
            do {
                try await table.write(process: process, health: health)
                var remote: [PartitionHealth.Key: PartitionHealth.RemoteHalt] = [:]
                for row in try await table.rows() where row.process != process && row.age < ConsumerStatusTable.liveWithin {
                    if let reason = row.halted {
                        remote[PartitionHealth.Key(group: row.group, partition: row.partition)] = .init(process: row.process, topic: row.topic, reason: reason)
                    }
                }
                health.setRemoteHalts(remote)
            } catch {
                if Task.isCancelled { break }
                logger.warning("cannot write the consumer status: \(error)")
            }
            try? await Task.sleep(for: .seconds(1))
        }
        await table.remove(process: process)
    }
}

/// Tells this process apart from an earlier one with the same pid.
enum WharfProcessStart {
    static let id = String(Int(Date().timeIntervalSince1970 * 1000), radix: 36)
}
