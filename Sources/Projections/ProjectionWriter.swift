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
    static func write(_ records: [LogRecord], from: Int64, schema: String, partition: Int, on connection: PostgresConnection, logger: Logger) async throws {
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

        var envelopes: [(EventEnvelope, LogRecord)] = []
        envelopes.reserveCapacity(records.count)
        var names = Set<String>()
        for record in records {
            let envelope = try EventEnvelope.decodeStored(record.value)
            if let (kind, name) = AggregateKey.split(envelope.aggregate), kind == "service" { names.insert(name) }
            envelopes.append((envelope, record))
        }
        var changes = ServiceRowChanges(existing: try await loadServices(Array(names), schema: schema, on: connection, logger: logger))
        for (envelope, record) in envelopes {
            try changes.apply(envelope, value: record.value, position: record.position)
        }
        try await upsertServices(changes.touched.sorted().compactMap { changes.services[$0] }, schema: schema, on: connection, logger: logger)
        try await insertRevisions(changes.revisions, schema: schema, on: connection, logger: logger)
        try await upsertAudit(changes.audit, schema: schema, on: connection, logger: logger)
        // Nginx events are few and large (whole config texts): applied one by one, in log order.
        for (envelope, record) in envelopes where envelope.aggregate.hasPrefix("nginx-cluster/") {
            try await NginxProjection.apply(envelope, position: record.position, schema: schema, on: connection, logger: logger)
        }
        try await connection.query("SELECT pg_notify(\(ReadModelSchema.progressChannel), \("\(schema):\(partition):\(last.offset + 1)"))",
                                   logger: logger)
    }

    private static func loadServices(_ names: [String], schema: String, on connection: PostgresConnection,
                                     logger: Logger) async throws -> [String: ServiceRow] {
        guard !names.isEmpty else { return [:] }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT name, business_line, image, replicas, revision, status, env::text, ports::text, coalesce(health_check::text, 'null'),
                   coalesce(domain, ''), addresses::text, \(timeText("created_at")), created_by, \(timeText("updated_at")), updated_by, position
              FROM \(schema).services WHERE name = ANY($1)
            """, binds: binds(names)), logger: logger)
        var out: [String: ServiceRow] = [:]
        for try await row in rows {
            let c = try row.decode((String, String, String, Int, Int, String, String, String, String, String, String, String, String, String, String, String).self)
            out[c.0] = ServiceRow(name: c.0, businessLine: c.1, image: c.2, replicas: c.3, revision: c.4, status: c.5, env: c.6,
                                  ports: c.7, healthCheck: c.8, domain: c.9, addresses: c.10, createdAt: c.11, createdBy: c.12, updatedAt: c.13,
                                  updatedBy: c.14, position: c.15)
        }
        return out
    }

    /// Timestamps travel as our RFC 3339 text both ways, so a loaded row re-encodes byte for byte.
    static func timeText(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }

    private static func upsertServices(_ rows: [ServiceRow], schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO \(schema).services (name, business_line, image, replicas, revision, status, env, ports, health_check, domain,
                                            addresses, created_at, created_by, updated_at, updated_by, position)
            SELECT n, bl, img, rep, rev, st, env::jsonb, ports::jsonb, nullif(hc, 'null')::jsonb, nullif(dom, ''),
                   adr::jsonb, ca::timestamptz, cb, ua::timestamptz, ub, pos
              FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[],
                          $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
                AS u(n, bl, img, rep, rev, st, env, ports, hc, dom, adr, ca, cb, ua, ub, pos)
            ON CONFLICT (name) DO UPDATE SET business_line = EXCLUDED.business_line, image = EXCLUDED.image,
                replicas = EXCLUDED.replicas, revision = EXCLUDED.revision, status = EXCLUDED.status, env = EXCLUDED.env,
                ports = EXCLUDED.ports, health_check = EXCLUDED.health_check, domain = EXCLUDED.domain, addresses = EXCLUDED.addresses,
                created_at = EXCLUDED.created_at, created_by = EXCLUDED.created_by, updated_at = EXCLUDED.updated_at,
                updated_by = EXCLUDED.updated_by, position = EXCLUDED.position
            """, binds: binds(rows.map(\.name), rows.map(\.businessLine), rows.map(\.image), rows.map(\.replicas),
                              rows.map(\.revision), rows.map(\.status), rows.map(\.env), rows.map(\.ports), rows.map(\.healthCheck),
                              rows.map(\.domain), rows.map(\.addresses), rows.map(\.createdAt), rows.map(\.createdBy), rows.map(\.updatedAt),
                              rows.map(\.updatedBy), rows.map(\.position))), logger: logger)
    }

    private static func insertRevisions(_ rows: [RevisionRow], schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO \(schema).service_revisions (service, revision, cause, image, template, rolled_back_to, actor, time, position)
            SELECT s, r, c, i, t::jsonb, nullif(rb, 0), a, tm::timestamptz, p
              FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[])
                AS u(s, r, c, i, t, rb, a, tm, p)
            """, binds: binds(rows.map(\.service), rows.map(\.revision), rows.map(\.cause), rows.map(\.image), rows.map(\.template),
                              rows.map(\.rolledBackTo), rows.map(\.actor), rows.map(\.time), rows.map(\.position))), logger: logger)
    }

    private static func upsertAudit(_ rows: [AuditRow], schema: String, on connection: PostgresConnection, logger: Logger) async throws {
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

/// Builds a bind list from already-typed values (the SQL text names the schema, so we cannot use interpolation).
func binds(_ values: any PostgresEncodable...) throws -> PostgresBindings {
    var b = PostgresBindings(capacity: values.count)
    for value in values { try b.append(value) }
    return b
}
