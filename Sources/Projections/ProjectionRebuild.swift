import EventLog
import Events
import Foundation
import Logging
import PostgresNIO

/// `wharf projections rebuild`: replays the events topic from offset zero into a fresh schema beside the
/// live one, then swaps it in. The swap locks the live checkpoints (pausing live projectors), replays what
/// arrived meanwhile, and renames the schemas in one transaction, so queries never see a half-built model.
public struct ProjectionRebuild {
    public struct Progress: Sendable {
        public var partition: Int
        public var applied: Int64
        public var total: Int64
    }

    public let log: any EventLog
    public let database: Database
    public var batchSize = 2000

    public init(log: any EventLog, database: Database) {
        self.log = log; self.database = database
    }

    /// Rebuilds and swaps; returns the number of events replayed.
    @discardableResult
    public func run(progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Int64 {
        let logger = database.logger
        let target = ReadModelSchema.rebuild
        let partitions = try await log.partitionCount(topic: Topics.events)
        try await Projector.prepare(database: database)
        try await database.execute(statements: ["SELECT pg_advisory_xact_lock(\(Projector.rebuildLockKey))",
                                                "DROP SCHEMA IF EXISTS \(target) CASCADE"]
                                   + ReadModelSchema.statements(schema: target))
        // Bulk of the work, outside any long transaction: one transaction per batch, as the live projector does.
        var replayed = try await replayAll(into: target, partitions: partitions, progress: progress)
        // Swap: lock the live checkpoints, catch up, rename.
        try await database.client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Projector.rebuildLockKey))", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(ReadModelSchema.live).offsets IN EXCLUSIVE MODE"), logger: logger)
            for p in 0..<partitions {
                var next = try await ProjectionWriter.checkpoint(schema: target, partition: p, on: connection, logger: logger)
                while true {
                    let batch = try await log.read(topic: Topics.events, partition: p, from: next, limit: batchSize, includeChain: false)
                    guard let last = batch.last else { break }
                    try await ProjectionWriter.write(batch, from: next, schema: target, partition: p, on: connection, logger: logger)
                    replayed += Int64(batch.count)
                    next = last.offset + 1
                }
            }
            try await connection.query(PostgresQuery(unsafeSQL: "ALTER SCHEMA \(ReadModelSchema.live) RENAME TO \(ReadModelSchema.live)_old"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "ALTER SCHEMA \(target) RENAME TO \(ReadModelSchema.live)"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(ReadModelSchema.live)_old CASCADE"), logger: logger)
        }
        return replayed
    }

    /// Replays every partition, several at once, up to the end each has now; returns the events applied.
    public func replayAll(into schema: String, partitions: Int, concurrency: Int = 12,
                          progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Int64 {
        try await withThrowingTaskGroup(of: Int64.self) { group in
            var total: Int64 = 0
            for p in 0..<partitions {
                if p >= concurrency { total += try await group.next() ?? 0 }
                group.addTask {
                    let end = try await log.endOffset(topic: Topics.events, partition: p)
                    return try await replay(partition: p, into: schema, upTo: end) { applied in
                        progress(Progress(partition: p, applied: applied, total: end))
                    }
                }
            }
            return try await group.reduce(total, +)
        }
    }

    /// Replays one partition into `schema` up to `end` (exclusive), resuming from that schema's checkpoint.
    public func replay(partition p: Int, into schema: String, upTo end: Int64, report: (Int64) -> Void = { _ in }) async throws -> Int64 {
        let logger = database.logger
        var next = try await database.client.withConnection { connection in
            try await ProjectionWriter.checkpoint(schema: schema, partition: p, on: connection, logger: logger)
        }
        var applied: Int64 = 0
        while next < end {
            let batch = try await log.read(topic: Topics.events, partition: p, from: next, limit: min(batchSize, Int(end - next)), includeChain: false)
            guard let last = batch.last else { break }
            try await database.client.withTransaction(logger: logger) { connection in
                try await ProjectionWriter.write(batch, from: next, schema: schema, partition: p, on: connection, logger: logger)
            }
            applied += Int64(batch.count)
            next = last.offset + 1
            report(next)
        }
        return applied
    }
}
