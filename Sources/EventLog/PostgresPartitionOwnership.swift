import Events
import Foundation
import Logging
import PostgresNIO

/// Ownership through session-level advisory locks on a dedicated connection: key (group, partition).
/// When the owning process dies, Postgres ends its session and drops the locks, so a survivor's next
/// `claim` gets them. Writers still fence their appends (expected offsets), because a lock can be lost
/// while a batch is in flight.
///
/// Balancing: each member also holds one "member slot" lock of the group, so every member can count the live
/// members and keeps at most its fair share (partitions / members, rounded up); a member above its share lets
/// go of its highest partitions, which the newcomer then claims.
public final class PostgresPartitionOwnership: PartitionOwnership, @unchecked Sendable {
    private let database: Database
    private let groupKey: Int32
    private let memberKey: Int32
    private let group: String
    private var memberSlot: Int?
    static let maxMembers = 256
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var owned: Set<Int> = []

    public init(database: Database, group: String) async throws {
        self.database = database
        self.group = group
        // FNV-1a of the group name folded into the advisory lock's first int4 key.
        self.groupKey = Int32(bitPattern: UInt32(truncatingIfNeeded: Partitioner.partition(for: "group:" + group, partitions: Int(Int32.max))))
        // Non-negative, so it reads back unchanged from pg_locks.classid (an oid).
        self.memberKey = Int32(Partitioner.partition(for: "members:" + group, partitions: Int(Int32.max)))
    }

    /// Takes a member slot once per session and counts the group's live members.
    private func members(on connection: PostgresConnection) async throws -> Int {
        if lock.withLock({ memberSlot }) == nil {
            let rows = try await connection.query("""
                SELECT s FROM generate_series(0, \(Self.maxMembers - 1)::int) AS s WHERE pg_try_advisory_lock(\(memberKey), s) LIMIT 1
                """, logger: database.logger)
            var slot: Int?
            for try await s in rows.decode(Int.self) { slot = s }
            lock.withLock { memberSlot = slot }
        }
        let rows = try await connection.query("""
            SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = \(memberKey)::int::oid AND objsubid = 2
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, logger: database.logger)
        var count = 1
        for try await n in rows.decode(Int.self) { count = max(1, n) }
        return count
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
        do {
            let members = try await members(on: connection)
            let share = (candidates.count + members - 1) / members
            let currentlyOwned = lock.withLock { owned }.intersection(candidates)
            if currentlyOwned.count > share {
                let excess = Array(currentlyOwned.sorted().suffix(currentlyOwned.count - share))
                try await connection.query("SELECT pg_advisory_unlock(\(groupKey), p) FROM unnest(\(excess)::int[]) AS p", logger: database.logger)
                return lock.withLock {
                    owned.subtract(excess)
                    return owned.intersection(candidates)
                }
            }
            let wanted = candidates.filter { !currentlyOwned.contains($0) }
            guard !wanted.isEmpty, currentlyOwned.count < share else { return currentlyOwned }
            let rows = try await connection.query("""
                SELECT p FROM unnest(\(wanted)::int[]) AS p WHERE pg_try_advisory_lock(\(groupKey), p) ORDER BY p
                """, logger: database.logger)
            var gained: [Int] = []
            for try await p in rows.decode(Int.self) { gained.append(p) }
            // More than the share may have been locked in one statement: give the rest back at once.
            if currentlyOwned.count + gained.count > share {
                let extra = Array(gained.suffix(currentlyOwned.count + gained.count - share))
                gained.removeLast(extra.count)
                try await connection.query("SELECT pg_advisory_unlock(\(groupKey), p) FROM unnest(\(extra)::int[]) AS p", logger: database.logger)
            }
            return lock.withLock {
                owned.formUnion(gained)
                return owned.intersection(candidates)
            }
        } catch {
            drop()
            throw error
        }
    }

    public func release(partitions: [Int]) async {
        guard let conn = lock.withLock({ connection }) else { return }
        let held = lock.withLock { owned.intersection(partitions) }
        guard !held.isEmpty else { return }
        _ = try? await conn.query("SELECT pg_advisory_unlock(\(groupKey), p) FROM unnest(\(held.sorted())::int[]) AS p", logger: database.logger)
        lock.withLock { owned.subtract(held) }
    }

    public func release() async {
        let conn = lock.withLock { () -> PostgresConnection? in
            let c = connection
            connection = nil
            owned = []
            memberSlot = nil
            return c
        }
        // Unlock first, so the others see this member gone as soon as release returns.
        _ = try? await conn?.query("SELECT pg_advisory_unlock_all()", logger: database.logger)
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
            memberSlot = nil
            return c
        }
        if let conn { Task { try? await conn.close() } }
    }
}
