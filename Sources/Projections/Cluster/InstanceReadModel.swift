import Events
import EventLog
import Foundation
import Logging
import PostgresNIO

/// `instances`: every pod the cluster workers have seen of each service, current or gone: which pod, where
/// (cluster, node, IP), when it was first seen and when it went (`gone_at`, null while it runs). The current rows
/// answer GET /v1/services/{name}/instances; all of them, newest first, the container history.
struct InstanceReadModel: ReadModel {
    let name = "instances"
    let layoutVersion = 1
    let tables = ["instances"]

    func createStatements(schema s: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(s).instances (
                service text NOT NULL,
                cluster text NOT NULL,
                pod text NOT NULL,
                ip text,
                node text,
                phase text NOT NULL,
                ready boolean NOT NULL,
                restarts int NOT NULL,
                reason text,
                started_at text,
                first_seen timestamptz NOT NULL,
                changed_at timestamptz NOT NULL,
                gone_at timestamptz,
                position text NOT NULL,
                PRIMARY KEY (service, cluster, pod)
            )
            """,
            "CREATE INDEX IF NOT EXISTS instances_history ON \(s).instances (service, first_seen DESC)",
        ]
    }

    func apply(_ events: ProjectedEvents, schema s: String, on c: PostgresConnection, logger: Logger) async throws {
        for event in events {
            let e = event.envelope
            guard AggregateKey.kind(of: e.aggregate) == ServiceAggregate.kind else { continue }
            let position = event.record.position.description
            func run(_ sql: String, _ values: any PostgresEncodable...) async throws {
                try await c.query(PostgresQuery(unsafeSQL: sql, binds: binds(list: values)), logger: logger)
            }
            switch e.event.payload {
            case let p as ServiceInstancesObserved:
                // One statement, whatever the number of pods: the ones that went (not in the report) and the ones seen.
                try await run("""
                    WITH seen AS (
                        SELECT * FROM jsonb_to_recordset($3::jsonb)
                               AS i(pod text, ip text, node text, phase text, ready boolean, restarts int, reason text, "startedAt" text)
                    ), went AS (
                        UPDATE \(s).instances SET gone_at = $4::timestamptz, ready = false, position = $5
                         WHERE service = $1 AND cluster = $2 AND gone_at IS NULL AND pod NOT IN (SELECT pod FROM seen)
                    )
                    INSERT INTO \(s).instances (service, cluster, pod, ip, node, phase, ready, restarts, reason, started_at, first_seen, changed_at, position)
                    SELECT $1, $2, i.pod, i.ip, i.node, i.phase, i.ready, i.restarts, i.reason, i."startedAt", $4::timestamptz, $4::timestamptz, $5
                      FROM seen i
                    ON CONFLICT (service, cluster, pod) DO UPDATE SET
                        ip = coalesce(EXCLUDED.ip, instances.ip), node = coalesce(EXCLUDED.node, instances.node), phase = EXCLUDED.phase,
                        ready = EXCLUDED.ready, restarts = EXCLUDED.restarts, reason = EXCLUDED.reason, started_at = EXCLUDED.started_at,
                        changed_at = EXCLUDED.changed_at, gone_at = NULL, position = EXCLUDED.position
                    WHERE (instances.ip, instances.node, instances.phase, instances.ready, instances.restarts, instances.reason,
                           instances.started_at, instances.gone_at)
                          IS DISTINCT FROM (coalesce(EXCLUDED.ip, instances.ip), coalesce(EXCLUDED.node, instances.node), EXCLUDED.phase,
                                            EXCLUDED.ready, EXCLUDED.restarts, EXCLUDED.reason, EXCLUDED.started_at, NULL::timestamptz)
                    """, p.name, p.cluster, try CanonicalJSON.encode(p.instances), e.time, position)
            case let p as ServicePlacementSettled:
                // A move is over: pods of clusters it left are no longer the service's (pruned, or in a cluster that failed).
                try await run("""
                    UPDATE \(s).instances SET gone_at = $3::timestamptz, ready = false, position = $4
                     WHERE service = $1 AND gone_at IS NULL AND NOT ($2::jsonb ? cluster)
                    """, p.name, try CanonicalJSON.encode(p.result), e.time, position)
            case let p as ServiceDestroyed:
                // Its objects are pruned and nothing more is recorded for it: whatever still ran goes with it.
                try await run("UPDATE \(s).instances SET gone_at = $2::timestamptz, ready = false, position = $3 WHERE service = $1 AND gone_at IS NULL",
                              p.name, e.time, position)
            default:
                continue
            }
        }
    }
}
