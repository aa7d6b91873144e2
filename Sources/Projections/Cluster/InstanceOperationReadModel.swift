import Events
import EventLog
import Foundation
import Logging
import PostgresNIO

/// `instance_operations`: every operation on a service's pods, keyed by the request's command id: recreates and
/// debug containers (pending until the cluster worker records the outcome) and log reads (done when recorded).
/// The cluster workers take their pending work from here; GET /v1/services/{name}/operations lists it.
struct InstanceOperationReadModel: ReadModel {
    let name = "instance_operations"
    let layoutVersion = 1
    let tables = ["instance_operations"]

    func createStatements(schema s: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(s).instance_operations (
                id text PRIMARY KEY,
                service text NOT NULL,
                cluster text NOT NULL,
                pod text NOT NULL,
                kind text NOT NULL,
                container text,
                image text,
                request jsonb NOT NULL DEFAULT '{}',
                state text NOT NULL,
                detail text,
                requested_by text NOT NULL,
                requested_at timestamptz NOT NULL,
                finished_at timestamptz,
                position text NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS instance_operations_service ON \(s).instance_operations (service, requested_at DESC)",
            "CREATE INDEX IF NOT EXISTS instance_operations_pending ON \(s).instance_operations (cluster, requested_at) WHERE state = 'pending'",
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
            func insert(_ service: String, _ cluster: String, _ pod: String, kind: String, container: String?, image: String?,
                        request: String, state: String, detail: String?) async throws {
                let pending = state == "pending"
                try await c.query("""
                    INSERT INTO \(unescaped: s).instance_operations (id, service, cluster, pod, kind, container, image, request, state, detail,
                                                         requested_by, requested_at, finished_at, position)
                    VALUES (\(e.commandId), \(service), \(cluster), \(pod), \(kind), \(container), \(image), \(request)::jsonb, \(state), \(detail),
                            \(e.actor), \(e.time)::timestamptz, CASE WHEN \(pending) THEN NULL ELSE \(e.time)::timestamptz END, \(position))
                    ON CONFLICT (id) DO NOTHING
                    """, logger: logger)
            }
            switch e.event.payload {
            case let p as ServiceInstanceRecreateRequested:
                try await insert(p.name, p.cluster, p.pod, kind: "recreate", container: nil, image: nil, request: "{}", state: "pending", detail: nil)
            case let p as ServiceDebugContainerRequested:
                try await insert(p.name, p.cluster, p.pod, kind: "debug", container: p.container, image: p.image, request: "{}",
                                 state: "pending", detail: nil)
            case let p as ServiceInstanceLogsRead:
                struct Request: Encodable { var tailLines: Int?; var sinceSeconds: Int?; var follow: Bool }
                let request = try CanonicalJSON.encode(Request(tailLines: p.tailLines, sinceSeconds: p.sinceSeconds, follow: p.follow))
                try await insert(p.name, p.cluster, p.pod, kind: "logs", container: p.container, image: nil, request: request, state: "done", detail: nil)
            case let p as ServiceInstanceOperationFinished:
                try await run("""
                    UPDATE \(s).instance_operations SET state = $2, detail = $3, finished_at = $4::timestamptz, position = $5
                     WHERE id = $1
                    """, p.operation, p.outcome.rawValue, p.detail, e.time, position)
            case let p as ServiceDestroyed:
                try await run("""
                    UPDATE \(s).instance_operations SET state = 'cancelled', detail = 'the service was destroyed', finished_at = $2::timestamptz,
                        position = $3 WHERE service = $1 AND state = 'pending'
                    """, p.name, e.time, position)
            default:
                continue
            }
        }
    }
}
