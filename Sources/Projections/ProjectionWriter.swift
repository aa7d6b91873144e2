import EventLog
import Events
import Foundation
import Logging
import PostgresNIO

/// Thrown when the stored checkpoint is not where the writer expected: another projector owns the partition now.
struct ProjectionFenced: Error, CustomStringConvertible {
    var partition: Int
    var expected: Int64
    var description: String { "projection checkpoint of partition \(partition) moved away from \(expected): another owner took over" }
}

/// Writes a batch of events into the read models of `schema` inside the caller's transaction, together with
/// the checkpoint. Batched statements (UNNEST) keep it to a handful of round trips per batch.
enum ProjectionWriter {
    static func checkpoint(schema: String, partition: Int, on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        try await connection.query(PostgresQuery(unsafeSQL:
            "INSERT INTO \(schema).offsets (partition, next_offset) VALUES ($1, 0) ON CONFLICT (partition) DO NOTHING",
            binds: binds(partition)), logger: logger)
        let rows = try await connection.query(PostgresQuery(unsafeSQL:
            "SELECT next_offset FROM \(schema).offsets WHERE partition = $1", binds: binds(partition)), logger: logger)
        for try await next in rows.decode(Int64.self) { return next }
        return 0
    }

    /// `from`: the checkpoint the batch was read from (its first record may be later where offsets have holes).
    /// `only`: the read models a rebuild is building; nil for the live projector, which writes every ready model.
    /// `bulk`: a batch of a bulk load from offset zero, cut at a command boundary (see `ReadModel.bulkApply`).
    static func write(_ records: [LogRecord], from: Int64, schema: String, partition: Int, only: [any ReadModel]? = nil,
                      bulk: Bool = false, on connection: PostgresConnection, logger: Logger) async throws {
        guard let first = records.first, let last = records.last else { return }
        // Read models are rebuilt from the log and the checkpoint commits with the rows, so a commit lost in a
        // crash loses both together; no need to wait for the WAL flush.
        try await connection.query("SET LOCAL synchronous_commit = off", logger: logger)
        // Fence and lock the checkpoint row first, so two owners can never interleave.
        let fenced = try await connection.query(PostgresQuery(unsafeSQL:
            "UPDATE \(schema).offsets SET next_offset = $1 WHERE partition = $2 AND next_offset = $3 RETURNING 1",
            binds: binds(last.offset + 1, partition, from)), logger: logger)
        var updated = 0
        for try await _ in fenced { updated += 1 }
        guard updated == 1 else { throw ProjectionFenced(partition: partition, expected: from) }
        precondition(first.offset >= from, "a batch starts before the offset it was read from")

        var events: ProjectedEvents = []
        events.reserveCapacity(records.count)
        for record in records { events.append(ProjectedEvent(envelope: try EventEnvelope.decodeStored(record.value), record: record)) }
        for model in try await readyModels(schema: schema, only: only, on: connection, logger: logger) {
            if bulk {
                try await model.bulkApply(events, schema: schema, on: connection, logger: logger)
            } else {
                try await model.apply(events, schema: schema, on: connection, logger: logger)
            }
        }
        try await connection.query("SELECT pg_notify(\(ReadModelSchema.progressChannel), \("\(schema):\(partition):\(last.offset + 1)"))",
                                   logger: logger)
    }

    /// The models to write. Read after the fenced checkpoint update has locked the row, so a rebuild that swapped a
    /// model in (holding the offsets lock) is seen by the first batch after it.
    private static func readyModels(schema: String, only: [any ReadModel]?, on connection: PostgresConnection,
                                    logger: Logger) async throws -> [any ReadModel] {
        if let only { return only }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT name FROM \(schema).read_models WHERE ready"), logger: logger)
        var ready = Set<String>()
        for try await name in rows.decode(String.self) { ready.insert(name) }
        return ReadModels.all.filter { ready.contains($0.name) }
    }

    /// Timestamps travel as our RFC 3339 text both ways, so a loaded row re-encodes byte for byte.
    static func timeText(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }
}

/// Builds a bind list from already-typed values (the SQL text names the schema, so we cannot use interpolation).
func binds(_ values: any PostgresEncodable...) throws -> PostgresBindings {
    try binds(list: values)
}

/// The same, for helpers that take variadic values themselves (Swift cannot forward a variadic list).
func binds(list values: [any PostgresEncodable]) throws -> PostgresBindings {
    var b = PostgresBindings(capacity: values.count)
    for value in values { try b.append(value) }
    return b
}
