import Events
import EventLog
import Logging
import PostgresNIO

/// `services` (one row per service, its current spec) and `service_revisions` (one row per revision).
struct ServiceReadModel: ReadModel {
    let name = "services"
    /// 2: `secret_env` (names and key ids of secret variables), revisions' templates masked.
    let layoutVersion = 2
    let tables = ["services", "service_revisions"]

    func createStatements(schema s: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(s).services (
                name text PRIMARY KEY,
                business_line text NOT NULL,
                image text NOT NULL,
                replicas int NOT NULL,
                revision int NOT NULL,
                status text NOT NULL,
                env jsonb NOT NULL,
                secret_env jsonb NOT NULL DEFAULT '{}',
                ports jsonb NOT NULL,
                health_check jsonb,
                domain text,
                addresses jsonb NOT NULL DEFAULT '[]',
                created_at timestamptz NOT NULL,
                created_by text NOT NULL,
                updated_at timestamptz NOT NULL,
                updated_by text NOT NULL,
                position text NOT NULL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).service_revisions (
                service text NOT NULL,
                revision int NOT NULL,
                cause text NOT NULL,
                image text NOT NULL,
                template jsonb NOT NULL,
                rolled_back_to int,
                actor text NOT NULL,
                time timestamptz NOT NULL,
                position text NOT NULL,
                PRIMARY KEY (service, revision)
            )
            """,
        ]
    }

    func indexStatements(schema s: String) -> [String] {
        ["CREATE INDEX IF NOT EXISTS services_business_line ON \(s).services (business_line)"]
    }

    func apply(_ events: ProjectedEvents, schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        // Indices, not a filtered copy: copying envelopes costs more than the rest of this at bulk-load rates.
        let own = events.indices.filter { AggregateKey.kind(of: events[$0].envelope.aggregate) == ServiceAggregate.kind }
        guard !own.isEmpty else { return }
        let names = Set(own.compactMap { AggregateKey.split(events[$0].envelope.aggregate)?.id })
        var changes = ServiceRowChanges(existing: try await loadServices(Array(names), schema: schema, on: connection, logger: logger))
        for i in own { try changes.apply(events[i].envelope, position: events[i].record.position) }
        try await upsertServices(changes.touched.sorted().compactMap { changes.services[$0] }, schema: schema, on: connection, logger: logger)
        try await insertRevisions(changes.revisions, schema: schema, on: connection, logger: logger)
    }

    private func loadServices(_ names: [String], schema: String, on connection: PostgresConnection,
                                     logger: Logger) async throws -> [String: ServiceRow] {
        guard !names.isEmpty else { return [:] }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT name, business_line, image, replicas, revision, status, env::text, secret_env::text, ports::text, coalesce(health_check::text, 'null'),
                   coalesce(domain, ''), addresses::text, \(ProjectionWriter.timeText("created_at")), created_by, \(ProjectionWriter.timeText("updated_at")), updated_by, position
              FROM \(schema).services WHERE name = ANY($1)
            """, binds: binds(names)), logger: logger)
        var out: [String: ServiceRow] = [:]
        for try await row in rows {
            // Cell by cell: a 16-tuple decode goes through variadic generics, slow at bulk-load rates.
            let c = Array(row)
            precondition(c.count == 17, "the services query selects 17 columns")
            func text(_ i: Int) throws -> String { try c[i].decode(String.self) }
            out[try text(0)] = ServiceRow(name: try text(0), businessLine: try text(1), image: try text(2), replicas: try c[3].decode(Int.self),
                                          revision: try c[4].decode(Int.self), status: try text(5), env: try text(6), secretEnv: try text(7),
                                          ports: try text(8), healthCheck: try text(9), domain: try text(10), addresses: try text(11),
                                          createdAt: try text(12), createdBy: try text(13), updatedAt: try text(14), updatedBy: try text(15),
                                          position: try text(16))
        }
        return out
    }

    private func upsertServices(_ rows: [ServiceRow], schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO \(schema).services (name, business_line, image, replicas, revision, status, env, ports, health_check, domain,
                                            addresses, created_at, created_by, updated_at, updated_by, position, secret_env)
            SELECT n, bl, img, rep, rev, st, env::jsonb, ports::jsonb, nullif(hc, 'null')::jsonb, nullif(dom, ''),
                   adr::jsonb, ca::timestamptz, cb, ua::timestamptz, ub, pos, sec::jsonb
              FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[],
                          $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[])
                AS u(n, bl, img, rep, rev, st, env, ports, hc, dom, adr, ca, cb, ua, ub, pos, sec)
            ON CONFLICT (name) DO UPDATE SET business_line = EXCLUDED.business_line, image = EXCLUDED.image,
                replicas = EXCLUDED.replicas, revision = EXCLUDED.revision, status = EXCLUDED.status, env = EXCLUDED.env,
                secret_env = EXCLUDED.secret_env,
                ports = EXCLUDED.ports, health_check = EXCLUDED.health_check, domain = EXCLUDED.domain, addresses = EXCLUDED.addresses,
                created_at = EXCLUDED.created_at, created_by = EXCLUDED.created_by, updated_at = EXCLUDED.updated_at,
                updated_by = EXCLUDED.updated_by, position = EXCLUDED.position
            """, binds: binds(rows.map(\.name), rows.map(\.businessLine), rows.map(\.image), rows.map(\.replicas),
                              rows.map(\.revision), rows.map(\.status), rows.map(\.env), rows.map(\.ports), rows.map(\.healthCheck),
                              rows.map(\.domain), rows.map(\.addresses), rows.map(\.createdAt), rows.map(\.createdBy), rows.map(\.updatedAt),
                              rows.map(\.updatedBy), rows.map(\.position), rows.map(\.secretEnv))), logger: logger)
    }

    private func insertRevisions(_ rows: [RevisionRow], schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO \(schema).service_revisions (service, revision, cause, image, template, rolled_back_to, actor, time, position)
            SELECT s, r, c, i, t::jsonb, nullif(rb, 0), a, tm::timestamptz, p
              FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[])
                AS u(s, r, c, i, t, rb, a, tm, p)
            """, binds: binds(rows.map(\.service), rows.map(\.revision), rows.map(\.cause), rows.map(\.image), rows.map(\.template),
                              rows.map(\.rolledBackTo), rows.map(\.actor), rows.map(\.time), rows.map(\.position))), logger: logger)
    }
}
