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
        // Reports go in one statement per run of them (a batch holds thousands); a run ends before another event of
        // these kinds or a second report of the same pods, so everything applies in log order.
        var run: [Report] = []
        var keys: Set<String> = []
        func flush() async throws {
            guard !run.isEmpty else { return }
            try await applyReports(run, schema: s, on: c, logger: logger)
            run = []
            keys = []
        }
        for event in events {
            let e = event.envelope
            guard AggregateKey.kind(of: e.aggregate) == ServiceAggregate.kind else { continue }
            let position = event.record.position.description
            switch e.event.payload {
            case let p as ServiceInstancesObserved:
                if !keys.insert("\(p.name)/\(p.cluster)").inserted { try await flush(); keys.insert("\(p.name)/\(p.cluster)") }
                run.append(Report(service: p.name, cluster: p.cluster, pods: p.instances, time: e.time, position: position))
            case let p as ServicePlacementSettled:
                try await flush()
                // A move is over: pods of clusters it left are no longer the service's (pruned, or in a cluster that failed).
                try await c.query("""
                    UPDATE \(unescaped: s).instances SET gone_at = \(e.time)::timestamptz, ready = false, position = \(position)
                     WHERE service = \(p.name) AND gone_at IS NULL AND NOT (\(try CanonicalJSON.encode(p.result))::jsonb ? cluster)
                    """, logger: logger)
            case let p as ServiceDestroyed:
                try await flush()
                // Its objects are pruned and nothing more is recorded for it: whatever still ran goes with it.
                try await c.query("""
                    UPDATE \(unescaped: s).instances SET gone_at = \(e.time)::timestamptz, ready = false, position = \(position)
                     WHERE service = \(p.name) AND gone_at IS NULL
                    """, logger: logger)
            default:
                continue
            }
        }
        try await flush()
    }

    struct Report: Encodable {
        var service: String
        var cluster: String
        var pods: [ServiceInstance]
        var time: String
        var position: String
    }

    /// One statement for many reports, each of a different (service, cluster): the pods that went (not in their
    /// report) and the ones seen; a row changes only when something in it does.
    private func applyReports(_ reports: [Report], schema s: String, on c: PostgresConnection, logger: Logger) async throws {
        try await c.query("""
            WITH r AS (
                SELECT * FROM jsonb_to_recordset(\(try CanonicalJSON.encode(reports))::jsonb)
                       AS r(service text, cluster text, pods jsonb, time timestamptz, position text)
            ), seen AS (
                SELECT r.service, r.cluster, r.time, r.position, i.*
                  FROM r CROSS JOIN LATERAL jsonb_to_recordset(r.pods)
                       AS i(pod text, ip text, node text, phase text, ready boolean, restarts int, reason text, "startedAt" text)
            ), went AS (
                UPDATE \(unescaped: s).instances t SET gone_at = r.time, ready = false, position = r.position
                  FROM r
                 WHERE t.service = r.service AND t.cluster = r.cluster AND t.gone_at IS NULL
                   -- Against its own report only (a few pods), not against every pod seen in the run: that was quadratic.
                   AND NOT r.pods @> jsonb_build_array(jsonb_build_object('pod', t.pod))
            )
            INSERT INTO \(unescaped: s).instances (service, cluster, pod, ip, node, phase, ready, restarts, reason, started_at, first_seen, changed_at, position)
            SELECT service, cluster, pod, ip, node, phase, ready, restarts, reason, "startedAt", time, time, position FROM seen
            ON CONFLICT (service, cluster, pod) DO UPDATE SET
                ip = coalesce(EXCLUDED.ip, instances.ip), node = coalesce(EXCLUDED.node, instances.node), phase = EXCLUDED.phase,
                ready = EXCLUDED.ready, restarts = EXCLUDED.restarts, reason = EXCLUDED.reason, started_at = EXCLUDED.started_at,
                changed_at = EXCLUDED.changed_at, gone_at = NULL, position = EXCLUDED.position
            WHERE (instances.ip, instances.node, instances.phase, instances.ready, instances.restarts, instances.reason,
                   instances.started_at, instances.gone_at)
                  IS DISTINCT FROM (coalesce(EXCLUDED.ip, instances.ip), coalesce(EXCLUDED.node, instances.node), EXCLUDED.phase,
                                    EXCLUDED.ready, EXCLUDED.restarts, EXCLUDED.reason, EXCLUDED.started_at, NULL::timestamptz)
            """, logger: logger)
    }
}
