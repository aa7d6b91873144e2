import Events
import EventLog
import Foundation
import Logging
import PostgresNIO

/// `codeflows` (each codeflow's current spec and its sealed webhook secret, which no answer shows) and `builds`
/// (one row per build, its state, phases and result). Few events: applied one by one, in log order.
struct CodeflowReadModel: ReadModel {
    let name = "codeflows"
    let layoutVersion = 1
    let tables = ["codeflows", "builds"]

    func createStatements(schema s: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(s).codeflows (
                name text PRIMARY KEY,
                service text NOT NULL,
                repository_key text NOT NULL,
                spec jsonb NOT NULL,
                webhook_secret text NOT NULL,
                revision int NOT NULL,
                updated_at timestamptz NOT NULL,
                updated_by text NOT NULL,
                position text NOT NULL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).builds (
                id text PRIMARY KEY,
                codeflow text NOT NULL,
                service text NOT NULL,
                state text NOT NULL,
                ref text NOT NULL,
                commit text,
                trigger jsonb NOT NULL,
                retry_of text,
                runner text,
                image text,
                digest text,
                cache_hit boolean,
                phases jsonb NOT NULL DEFAULT '{}',
                reason text,
                spec jsonb NOT NULL,
                queued_at timestamptz NOT NULL,
                started_at timestamptz,
                finished_at timestamptz,
                requested_by text NOT NULL,
                correlation_id text NOT NULL,
                position text NOT NULL
            )
            """,
        ]
    }

    func indexStatements(schema s: String) -> [String] {
        [
            "CREATE INDEX IF NOT EXISTS codeflows_repository ON \(s).codeflows (repository_key)",
            "CREATE INDEX IF NOT EXISTS builds_codeflow ON \(s).builds (codeflow, queued_at)",
            "CREATE INDEX IF NOT EXISTS builds_open ON \(s).builds (state) WHERE state IN ('queued', 'running')",
        ]
    }

    func apply(_ events: ProjectedEvents, schema s: String, on c: PostgresConnection, logger: Logger) async throws {
        for event in events {
            let e = event.envelope
            guard let kind = AggregateKey.kind(of: e.aggregate), kind == CodeflowAggregate.kind || kind == BuildAggregate.kind else { continue }
            let position = event.record.position.description
            func run(_ sql: String, _ values: any PostgresEncodable...) async throws {
                try await c.query(PostgresQuery(unsafeSQL: sql, binds: binds(list: values)), logger: logger)
            }
            func json(_ value: some Encodable) throws -> String { try CanonicalJSON.encode(value) }
            switch e.event.payload {
            case let p as CodeflowDefined:
                try await run("""
                    INSERT INTO \(s).codeflows (name, service, repository_key, spec, webhook_secret, revision, updated_at, updated_by, position)
                    VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::timestamptz, $8, $9)
                    ON CONFLICT (name) DO UPDATE SET service = EXCLUDED.service, repository_key = EXCLUDED.repository_key, spec = EXCLUDED.spec,
                        webhook_secret = CASE WHEN EXCLUDED.webhook_secret = '' THEN \(s).codeflows.webhook_secret ELSE EXCLUDED.webhook_secret END,
                        revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by, position = EXCLUDED.position
                    """, p.name, p.spec.service, RepositoryKey.normalize(p.spec.repository), try json(p.spec), p.webhookSecret ?? "", p.revision,
                    e.time, e.actor, position)
            case let p as BuildQueued:
                try await run("""
                    INSERT INTO \(s).builds (id, codeflow, service, state, ref, commit, trigger, retry_of, spec, queued_at, requested_by, correlation_id, position)
                    VALUES ($1, $2, $3, 'queued', $4, nullif($5, ''), $6::jsonb, nullif($7, ''), $8::jsonb, $9::timestamptz, $10, $11, $12)
                    ON CONFLICT DO NOTHING
                    """, p.id, p.codeflow, p.spec.service, p.ref, p.commit ?? "", try json(p.trigger), p.retryOf ?? "", try json(p.spec), e.time, e.actor,
                    e.correlationId, position)
            case let p as BuildStarted:
                try await run("UPDATE \(s).builds SET state = 'running', runner = $2, started_at = $3::timestamptz, position = $4 WHERE id = $1",
                              p.id, p.runner, e.time, position)
            case let p as BuildSucceeded:
                try await run("""
                    UPDATE \(s).builds SET state = 'succeeded', commit = $2, image = $3, digest = $4, cache_hit = $5, phases = $6::jsonb,
                        finished_at = $7::timestamptz, position = $8 WHERE id = $1
                    """, p.id, p.commit, p.image, p.digest, p.cacheHit, try json(p.phases), e.time, position)
            case let p as BuildFailed:
                try await run("""
                    UPDATE \(s).builds SET state = 'failed', commit = coalesce(nullif($2, ''), commit), reason = $3, cache_hit = nullif($4, '')::boolean, phases = $5::jsonb,
                        finished_at = $6::timestamptz, position = $7 WHERE id = $1
                    """, p.id, p.commit ?? "", p.reason, p.cacheHit.map { $0 ? "true" : "false" } ?? "", try json(p.phases), e.time, position)
            case let p as BuildCancelled:
                try await run("""
                    UPDATE \(s).builds SET state = 'cancelled', reason = 'cancelled by ' || $2, finished_at = $3::timestamptz, position = $4 WHERE id = $1
                    """, p.id, e.actor, e.time, position)
            default:
                continue
            }
        }
    }
}

extension CodeflowAggregate: ProjectedAggregate {
    /// One read model serves codeflows and builds; it is listed once, here.
    public static var readModels: [any ReadModel] { [CodeflowReadModel()] }
}
