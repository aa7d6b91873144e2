import EventLog
import Events
import Foundation
import Logging
import PostgresNIO

/// Rebuilds read models from the log beside the live ones, then swaps them in. Used by
/// `wharf projections rebuild` (every model) and on start for models whose layout changed (only those; the others
/// keep serving). The swap locks the live checkpoints (pausing live projectors), brings the rebuilt models to
/// exactly those checkpoints, and moves their tables into the live schema in one transaction, so queries never
/// see a half-built model and the live projector continues them from its own checkpoints.
public struct ProjectionRebuild {
    public struct Progress: Sendable {
        public var partition: Int
        public var applied: Int64
        public var total: Int64
    }

    public let log: any EventLog
    public let database: Database
    public let models: [any ReadModel]
    public var batchSize = 5000

    public init(log: any EventLog, database: Database, models: [any ReadModel] = ReadModels.all, batchSize: Int = 5000) {
        self.log = log; self.database = database; self.models = models; self.batchSize = batchSize
    }

    /// Rebuilds and swaps; returns the number of events replayed.
    @discardableResult
    public func run(progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Int64 {
        try await exclusively { try await rebuild(models, progress: progress) }
    }

    /// Rebuilds those of `models` that are still not ready once no other rebuild runs (several processes may start
    /// with the same pending layout change; the first rebuilds, the others find nothing left to do).
    @discardableResult
    public func runIfPending() async throws -> Int64 {
        try await exclusively {
            let pending = Set(try await Projector.prepare(database: database).map(\.name))
            let still = models.filter { pending.contains($0.name) }
            return still.isEmpty ? 0 : try await rebuild(still, progress: { _ in })
        }
    }

    /// One rebuild at a time per database: they share the rebuild schema. A session lock on a connection of its
    /// own, held for the whole rebuild and released with that connection if this process dies.
    private func exclusively(_ body: () async throws -> Int64) async throws -> Int64 {
        let connection = try await database.dedicatedConnection()
        do {
            try await connection.query("SELECT pg_advisory_lock(\(Projector.rebuildLockKey + 1))", logger: database.logger)
            let result = try await body()
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private func rebuild(_ models: [any ReadModel], progress: @escaping @Sendable (Progress) -> Void) async throws -> Int64 {
        let logger = database.logger
        let live = ReadModelSchema.live, target = ReadModelSchema.rebuild
        let partitions = try await log.partitionCount(topic: Topics.events)
        try await Projector.prepare(database: database)
        try await database.execute(statements: ["SELECT pg_advisory_xact_lock(\(Projector.rebuildLockKey))",
                                                "DROP SCHEMA IF EXISTS \(target) CASCADE"]
                                   + ReadModelSchema.statements(schema: target, models: models, indexes: false))
        // Bulk of the work, outside any long transaction, up to where the live projector is now: a rebuilt model
        // must never be ahead of the checkpoint the live projector will continue it from.
        let scoped = ProjectionRebuild(log: log, database: database, models: models, batchSize: batchSize)
        var replayed = try await scoped.replayAll(into: target, partitions: partitions, progress: progress) { p in
            try await liveCheckpoint(partition: p)
        }
        // Indexes after the bulk load, before the swap (outside its lock): the catch-up inside is small.
        try await database.executeConcurrently(statements: ReadModelSchema.indexStatements(schema: target, models: models))
        try await database.client.withTransaction(logger: logger) { c in
            try await c.query("SELECT pg_advisory_xact_lock(\(Projector.rebuildLockKey))", logger: logger)
            try await c.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(live).offsets IN EXCLUSIVE MODE"), logger: logger)
            for p in 0..<partitions {
                let end = try await ProjectionWriter.checkpoint(schema: live, partition: p, on: c, logger: logger)
                var next = try await ProjectionWriter.checkpoint(schema: target, partition: p, on: c, logger: logger)
                while next < end {
                    let batch = try await log.read(topic: Topics.events, partition: p, from: next, limit: min(batchSize, Int(end - next)),
                                                   includeChain: false).filter { $0.offset < end }
                    guard let last = batch.last else { break }
                    try await ProjectionWriter.write(batch, from: next, schema: target, partition: p, only: models, on: c, logger: logger)
                    replayed += Int64(batch.count)
                    next = last.offset + 1
                }
            }
            for model in models {
                for table in model.tables {
                    try await c.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(live).\(table) CASCADE"), logger: logger)
                    try await c.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(target).\(table) SET SCHEMA \(live)"), logger: logger)
                }
                try await c.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO \(live).read_models (name, version, ready) VALUES ($1, $2, true)
                    ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, ready = true
                    """, binds: binds(model.name, model.layoutVersion)), logger: logger)
            }
            try await c.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(target) CASCADE"), logger: logger)
        }
        return replayed
    }

    private func liveCheckpoint(partition p: Int) async throws -> Int64 {
        try await database.client.withConnection { c in
            try await ProjectionWriter.checkpoint(schema: ReadModelSchema.live, partition: p, on: c, logger: database.logger)
        }
    }

    /// Replays every partition, several at once, up to `end(partition)` (default: the end each has now); returns
    /// the events applied.
    public func replayAll(into schema: String, partitions: Int, concurrency: Int = 12,
                          progress: @escaping @Sendable (Progress) -> Void = { _ in },
                          end bound: (@Sendable (Int) async throws -> Int64)? = nil) async throws -> Int64 {
        try await withThrowingTaskGroup(of: Int64.self) { group in
            var total: Int64 = 0
            for p in 0..<partitions {
                if p >= concurrency { total += try await group.next() ?? 0 }
                group.addTask {
                    let end: Int64
                    if let bound { end = try await bound(p) } else { end = try await log.endOffset(topic: Topics.events, partition: p) }
                    return try await replay(partition: p, into: schema, upTo: end) { applied in
                        progress(Progress(partition: p, applied: applied, total: end))
                    }
                }
            }
            return try await group.reduce(total, +)
        }
    }

    /// Replays one partition into `schema` up to `end` (exclusive), resuming from that schema's checkpoint. From
    /// offset zero it is a bulk load (`ReadModel.bulkApply`): batches end at a command boundary, so every command's
    /// events land in one batch; only the last batch may end inside a command, and whoever continues (the swap's
    /// catch-up, the live projector) upserts.
    public func replay(partition p: Int, into schema: String, upTo end: Int64, report: (Int64) -> Void = { _ in }) async throws -> Int64 {
        let logger = database.logger
        var next = try await database.client.withConnection { connection in
            try await ProjectionWriter.checkpoint(schema: schema, partition: p, on: connection, logger: logger)
        }
        let bulk = next == 0
        var applied: Int64 = 0
        var limit = batchSize
        while next < end {
            var batch = try await log.read(topic: Topics.events, partition: p, from: next, limit: min(limit, Int(end - next)),
                                           includeChain: false)
            // Past `end` only where offsets have holes (Kafka); filtering copies every record, so only then.
            if let last = batch.last, last.offset >= end { batch = batch.filter { $0.offset < end } }
            guard let last = batch.last else { break }
            if bulk && last.offset + 1 < end {
                let whole = try Self.wholeCommands(batch)
                // One command with more events than a batch: read a bigger one.
                if whole == 0 { limit *= 2; continue }
                batch.removeSubrange(whole...)
            }
            try await database.client.withTransaction(logger: logger) { connection in
                try await ProjectionWriter.write(batch, from: next, schema: schema, partition: p, only: models, bulk: bulk,
                                                 on: connection, logger: logger)
            }
            applied += Int64(batch.count)
            next = batch[batch.count - 1].offset + 1
            limit = batchSize
            report(next)
        }
        return applied
    }

    /// How many records at the head of `batch` end at a command boundary: all but the trailing events of the last
    /// command, whose later events may be in the next batch (a command's events are contiguous in the log).
    static func wholeCommands(_ batch: [LogRecord]) throws -> Int {
        let lastCommand = try EventEnvelope.decodeStored(batch[batch.count - 1].value).commandId
        var cut = batch.count - 1
        while cut > 0, try EventEnvelope.decodeStored(batch[cut - 1].value).commandId == lastCommand { cut -= 1 }
        return cut
    }
}
