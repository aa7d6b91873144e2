import Events
import EventLog
import Logging
import PostgresNIO

/// `audit`: one row per command (actor, type, outcome, code, reason, time, position, events), fed by every event
/// of every kind, rejections and refusals included.
struct AuditReadModel: ReadModel {
    let name = "audit"
    /// 2: the command id is unique through an index built after a bulk load, no longer a primary key built row by row.
    let layoutVersion = 2
    let tables = ["audit"]

    func createStatements(schema s: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(s).audit (
                command_id text NOT NULL,
                aggregate text NOT NULL,
                actor text NOT NULL,
                command_type text NOT NULL,
                outcome text NOT NULL,
                code text,
                reason text,
                time timestamptz NOT NULL,
                partition int NOT NULL,
                "offset" bigint NOT NULL,
                position text NOT NULL,
                command_position text NOT NULL,
                event_count int NOT NULL
            )
            """,
        ]
    }

    func indexStatements(schema s: String) -> [String] {
        [
            "CREATE UNIQUE INDEX IF NOT EXISTS audit_command_id ON \(s).audit (command_id)",
            "CREATE INDEX IF NOT EXISTS audit_aggregate_time ON \(s).audit (aggregate, time)",
            "CREATE INDEX IF NOT EXISTS audit_actor_time ON \(s).audit (actor, time)",
            "CREATE INDEX IF NOT EXISTS audit_time ON \(s).audit (time, partition, \"offset\")",
        ]
    }

    func apply(_ events: ProjectedEvents, schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        var rows = AuditRows()
        for i in events.indices { rows.record(events[i].envelope, position: events[i].record.position) }
        try await upsert(rows.rows, schema: schema, on: connection, logger: logger)
    }

    /// A bulk load appends: no command has a row yet, and each brings all its events in this batch.
    func bulkApply(_ events: ProjectedEvents, schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        var rows = AuditRows()
        for i in events.indices { rows.record(events[i].envelope, position: events[i].record.position) }
        guard !rows.rows.isEmpty else { return }
        var copy = CopyTextRows(capacity: rows.rows.count * 256)
        for r in rows.rows {
            copy.text(r.commandId); copy.text(r.aggregate); copy.text(r.actor); copy.text(r.commandType); copy.text(r.outcome)
            copy.textOrNull(r.code); copy.textOrNull(r.reason); copy.text(r.time); copy.integer(r.partition); copy.integer(r.offset)
            copy.text(r.position); copy.text(r.commandPosition); copy.integer(r.eventCount)
            copy.endRow()
        }
        try await connection.copy(copy, into: "audit", schema: schema, columns: Self.columns, logger: logger)
    }

    static let columns = ["command_id", "aggregate", "actor", "command_type", "outcome", "code", "reason", "time", "partition", "offset",
                          "position", "command_position", "event_count"]

    private func upsert(_ rows: [AuditRow], schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        // A command whose events straddle two batches extends the row written by the first batch.
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO \(schema).audit (command_id, aggregate, actor, command_type, outcome, code, reason, time, partition, "offset",
                                         position, command_position, event_count)
            SELECT id, ag, ac, ct, oc, nullif(cd, ''), nullif(rs, ''), tm::timestamptz, pa, o, p, cp, ev
              FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[],
                          $10::int8[], $11::text[], $12::text[], $13::int[])
                AS u(id, ag, ac, ct, oc, cd, rs, tm, pa, o, p, cp, ev)
            ON CONFLICT (command_id) DO UPDATE SET event_count = \(schema).audit.event_count + EXCLUDED.event_count,
                "offset" = EXCLUDED."offset", position = EXCLUDED.position
            """, binds: binds(rows.map(\.commandId), rows.map(\.aggregate), rows.map(\.actor), rows.map(\.commandType),
                              rows.map(\.outcome), rows.map(\.code), rows.map(\.reason), rows.map(\.time), rows.map(\.partition),
                              rows.map(\.offset), rows.map(\.position), rows.map(\.commandPosition),
                              rows.map(\.eventCount))), logger: logger)
    }
}

struct AuditRow: Hashable {
    var commandId: String
    var aggregate: String
    var actor: String
    var commandType: String
    var outcome: String
    var code: String
    var reason: String
    var time: String
    var partition: Int
    var offset: Int64
    var position: String
    var commandPosition: String
    /// How many events the command produced; they sit contiguously in the log, ending at `offset`.
    var eventCount: Int
}

/// One audit row per command; a command with several events collects them all. A command's events are contiguous
/// in its partition, so only the last row can be the one an event continues.
struct AuditRows {
    var rows: [AuditRow] = []

    mutating func record(_ e: EventEnvelope, position: LogPosition) {
        if let i = rows.indices.last, rows[i].commandId == e.commandId {
            rows[i].eventCount += 1
            rows[i].offset = position.offset
            rows[i].position = position.description
            return
        }
        var outcome = "accepted", code = "", reason = "", commandType = e.commandType
        if let r = e.event.as(CommandRejected.self) {
            outcome = "rejected"; code = r.code.rawValue; reason = r.reason
        } else if let u = e.event.as(CommandUnchanged.self) {
            outcome = "unchanged"; reason = u.reason
        } else if let d = e.event.as(AccessDenied.self) {
            // What was tried is the request; the command that records it is bookkeeping.
            outcome = "denied"; code = "forbidden"; reason = "needs \(d.permission)"; commandType = "\(d.method) \(d.path)"
        }
        rows.append(AuditRow(commandId: e.commandId, aggregate: e.aggregate, actor: e.actor, commandType: commandType,
                             outcome: outcome, code: code, reason: reason, time: e.time, partition: position.partition,
                             offset: position.offset, position: position.description,
                             commandPosition: e.commandPosition.description, eventCount: 1))
    }
}
