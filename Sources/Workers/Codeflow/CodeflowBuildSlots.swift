import Events
import EventLog
import Foundation
import Logging
import PostgresNIO

/// A codeflow's `parallelism`, across every node: a build runs only while it holds one of its codeflow's slots, a
/// Postgres session advisory lock on a connection kept for the build. The lock goes with that connection, so a
/// node killed mid-build frees its slot at once, and two nodes can never both take the last one.
struct CodeflowBuildSlots: Sendable {
    let database: Database
    let logger: Logger
    /// How often a build waiting for a slot asks again.
    var retry: Duration = .milliseconds(250)

    /// Held while the build runs; `release()` closes the connection, which drops the lock.
    final class Lease: @unchecked Sendable {
        let connection: PostgresConnection?
        init(_ connection: PostgresConnection?) { self.connection = connection }
        func release() async { try? await connection?.close() }
    }

    /// Waits until one of the `count` slots of `codeflow` is free and takes it; no limit (`count == nil`) needs no lock.
    func acquire(codeflow: String, count: Int?) async throws -> Lease {
        guard let count else { return Lease(nil) }
        let connection = try await database.dedicatedConnection()
        var logged = false
        do {
            while true {
                for slot in 0..<count {
                    let key = Self.lockKey(codeflow: codeflow, slot: slot)
                    let rows = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger)
                    for try await taken in rows.decode(Bool.self) where taken { return Lease(connection) }
                }
                if !logged { logger.info("codeflow \(codeflow): all \(count) build slots are taken; waiting"); logged = true }
                try await Task.sleep(for: retry)
            }
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// One 64-bit lock key per (codeflow, slot): FNV-1a of the name above, a tag and the slot below, apart from the
    /// other advisory locks of Wharf (two-int keys for partitions, fixed constants for schema set-up).
    static func lockKey(codeflow: String, slot: Int) -> Int64 {
        Int64(bitPattern: (UInt64(Partitioner.fnv1a(codeflow)) << 32) | 0x4346_0000 | UInt64(slot & 0xFFFF))
    }
}
