import EventLog
import Events
import Foundation
import Logging
import PostgresNIO

/// Projects one events partition into the read models. Its checkpoint lives in `wharf_read.offsets`, written
/// in the same transaction as the rows it produced, so every event is applied exactly once.
public final class ProjectorPartitionWorker: PartitionWorker {
    public static let group = "projector"

    private let database: Database
    private let denseOffsets: Bool
    private let partition: Int
    private let schema: String
    private var next: Int64 = 0

    public init(database: Database, partition: Int, denseOffsets: Bool, schema: String = ReadModelSchema.live) {
        self.database = database; self.partition = partition; self.denseOffsets = denseOffsets; self.schema = schema
    }

    public func start() async throws -> Int64 {
        next = try await database.client.withConnection { connection in
            try await ProjectionWriter.checkpoint(schema: self.schema, partition: self.partition, on: connection, logger: self.database.logger)
        }
        return next
    }

    public func handle(_ records: [LogRecord]) async throws {
        guard let first = records.first else { return }
        // Dense logs must continue exactly; others (Kafka's commit markers) may skip offsets but never go back.
        guard denseOffsets ? first.offset == next : first.offset >= next else {
            throw PartitionHalted("events/\(partition): expected offset \(next) but the log gave \(first.offset); records are missing or the log went backwards")
        }
        do {
            try await database.client.withTransaction(logger: database.logger) { connection in
                try await ProjectionWriter.write(records, from: next, schema: self.schema, partition: self.partition, on: connection, logger: self.database.logger)
            }
        } catch let error as PostgresTransactionError {
            // An event this build cannot read will not become readable by retrying: stop with the reason.
            if let decoding = error.closureError as? DecodingError {
                throw PartitionHalted("events/\(partition) near offset \(first.offset) cannot be decoded: \(decoding)")
            }
            throw error
        }
        next = records.last!.offset + 1
    }
}

public enum Projector {
    /// Creates the read-model schema and every read model's tables when missing. A read model whose layout version
    /// changed (or that is new to an installation with history) gets fresh tables and is marked not ready: the live
    /// projector leaves it alone and `rebuildPending` builds it beside the live schema and swaps it in.
    /// Returns the models that need that rebuild.
    @discardableResult
    public static func prepare(database: Database, models: [any ReadModel] = ReadModels.all) async throws -> [any ReadModel] {
        let live = ReadModelSchema.live
        let logger = database.logger
        return try await database.client.withTransaction(logger: logger) { c in
            try await c.query("SELECT pg_advisory_xact_lock(\(rebuildLockKey))", logger: logger)
            try await c.query(PostgresQuery(unsafeSQL: LegacyLayout.migrate(schema: live)), logger: logger)
            for statement in ReadModelSchema.baseStatements(schema: live) {
                try await c.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            var known: [String: (version: Int, ready: Bool)] = [:]
            for try await (name, version, ready) in try await c.query(PostgresQuery(unsafeSQL: "SELECT name, version, ready FROM \(live).read_models"),
                                                                     logger: logger).decode((String, Int, Bool).self) {
                known[name] = (version, ready)
            }
            var history = false
            for try await n in try await c.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(live).offsets WHERE next_offset > 0"),
                                                 logger: logger).decode(Int64.self) { history = n > 0 }
            var pending: [any ReadModel] = []
            for model in models {
                if let k = known[model.name], k.version == model.layoutVersion {
                    if !k.ready { pending.append(model) }
                    continue
                }
                // New or changed: fresh tables. Nothing projected yet means nothing to catch up on.
                for table in model.tables { try await c.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(live).\(table) CASCADE"), logger: logger) }
                for statement in model.createStatements(schema: live) + model.indexStatements(schema: live) {
                    try await c.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await c.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO \(live).read_models (name, version, ready) VALUES ($1, $2, $3)
                    ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, ready = EXCLUDED.ready
                    """, binds: binds(model.name, model.layoutVersion, !history)), logger: logger)
                if history { pending.append(model) }
            }
            return pending
        }
    }

    /// Rebuilds the read models that `prepare` left not ready, while the others keep serving.
    public static func rebuildPending(log: any EventLog, database: Database) async throws {
        let pending = try await prepare(database: database)
        guard !pending.isEmpty else { return }
        database.logger.info("rebuilding read models \(pending.map(\.name).joined(separator: ", ")) from the log")
        try await ProjectionRebuild(log: log, database: database, models: pending).runIfPending()
    }

    static let rebuildLockKey: Int64 = 0x5748_4152_4632

    public static func consumer(log: any EventLog, database: Database, health: PartitionHealth = PartitionHealth(), logger: Logger,
                                batchSize: Int = 1000) -> PartitionConsumer {
        PartitionConsumer(log: log, topic: Topics.events, group: ProjectorPartitionWorker.group, batchSize: batchSize,
                          includeChain: false, health: health, logger: logger) { p in
            ProjectorPartitionWorker(database: database, partition: p, denseOffsets: log.denseOffsets)
        }
    }
}
