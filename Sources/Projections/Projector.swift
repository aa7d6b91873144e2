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
    /// Creates the read-model schema when missing, and replaces one of an older layout (the projector then
    /// rebuilds it from the log).
    public static func prepare(database: Database) async throws {
        let live = ReadModelSchema.live
        try await database.execute(statements: [
            "SELECT pg_advisory_xact_lock(\(rebuildLockKey))",
            """
            DO $$ DECLARE v int; BEGIN
              IF EXISTS (SELECT 1 FROM information_schema.schemata WHERE schema_name = '\(live)') THEN
                IF to_regclass('\(live).layout') IS NULL THEN
                  EXECUTE 'DROP SCHEMA \(live) CASCADE';
                ELSE
                  EXECUTE 'SELECT max(version) FROM \(live).layout' INTO v;
                  IF v IS DISTINCT FROM \(ReadModelSchema.layoutVersion) THEN EXECUTE 'DROP SCHEMA \(live) CASCADE'; END IF;
                END IF;
              END IF;
            END $$
            """,
        ] + ReadModelSchema.statements(schema: live))
    }

    static let rebuildLockKey: Int64 = 0x5748_4152_4632

    public static func consumer(log: any EventLog, database: Database, logger: Logger, batchSize: Int = 1000) -> PartitionConsumer {
        PartitionConsumer(log: log, topic: Topics.events, group: ProjectorPartitionWorker.group, batchSize: batchSize,
                          includeChain: false, logger: logger) { p in
            ProjectorPartitionWorker(database: database, partition: p, denseOffsets: log.denseOffsets)
        }
    }
}
