import Events
import Foundation
import Logging
import PostgresNIO

/// Ownership through session-level advisory locks on a dedicated connection: key (group, partition).
/// When the owning process dies, Postgres ends its session and drops the locks, so a survivor's next
/// `claim` gets them. Writers still fence their appends (expected offsets), because a lock can be lost
/// while a batch is in flight.
public final class PostgresPartitionOwnership: PartitionOwnership, @unchecked Sendable {
    private let database: Database
    private let groupKey: Int32
    private let group: String
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var owned: Set<Int> = []

    public init(database: Database, group: String) async throws {
        self.database = database
        self.group = group
        // FNV-1a of the group name folded into the advisory lock's first int4 key.
        self.groupKey = Int32(bitPattern: UInt32(truncatingIfNeeded: Partitioner.partition(for: "group:" + group, partitions: Int(Int32.max))))
    }

    public func claim(_ candidates: [Int]) async throws -> Set<Int> {
        let connection: PostgresConnection
        do {
            connection = try await liveConnection()
            // A cheap round trip proves the session (and with it our locks) is still alive.
            try await connection.query("SELECT 1", logger: database.logger)
        } catch {
            drop()
            throw error
        }
        let currentlyOwned = lock.withLock { owned }
        let wanted = candidates.filter { !currentlyOwned.contains($0) }
        guard !wanted.isEmpty else { return currentlyOwned.intersection(candidates) }
        do {
            let rows = try await connection.query("""
                SELECT p FROM unnest(\(wanted)::int[]) AS p WHERE pg_try_advisory_lock(\(groupKey), p)
                """, logger: database.logger)
            var gained: [Int] = []
            for try await p in rows.decode(Int.self) { gained.append(p) }
            return lock.withLock {
                owned.formUnion(gained)
                return owned.intersection(candidates)
            }
        } catch {
            drop()
            throw error
        }
    }

    public func release() async {
        let conn = lock.withLock { () -> PostgresConnection? in
            let c = connection
            connection = nil
            owned = []
            return c
        }
        try? await conn?.close()
    }

    private func liveConnection() async throws -> PostgresConnection {
        if let existing = lock.withLock({ connection }), !existing.isClosed { return existing }
        drop()
        let fresh = try await database.dedicatedConnection()
        lock.withLock { connection = fresh }
        return fresh
    }

    /// The session is gone or unusable: every lock it held is gone with it.
    private func drop() {
        let conn = lock.withLock { () -> PostgresConnection? in
            let c = connection
            connection = nil
            owned = []
            return c
        }
        if let conn { Task { try? await conn.close() } }
    }
}
