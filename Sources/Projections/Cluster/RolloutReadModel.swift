import Events
import EventLog
import Foundation
import Logging
import PostgresNIO

/// `rollouts`: each service's Deployment per cluster as last reported (revision, desired, updated, ready, available,
/// complete, why stuck), for GET /v1/services/{name}/rollout. The steps themselves stay in the log.
struct RolloutReadModel: ReadModel {
    let name = "rollouts"
    let layoutVersion = 1
    let tables = ["rollouts"]

    func createStatements(schema s: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(s).rollouts (
                service text NOT NULL,
                cluster text NOT NULL,
                rollout jsonb NOT NULL,
                changed_at timestamptz NOT NULL,
                position text NOT NULL,
                PRIMARY KEY (service, cluster)
            )
            """,
        ]
    }

    func apply(_ events: ProjectedEvents, schema s: String, on c: PostgresConnection, logger: Logger) async throws {
        for event in events {
            let e = event.envelope
            guard AggregateKey.kind(of: e.aggregate) == ServiceAggregate.kind else { continue }
            let position = event.record.position.description
            switch e.event.payload {
            case let p as ServiceRolloutObserved:
                if let rollout = p.rollout {
                    try await c.query("""
                        INSERT INTO \(unescaped: s).rollouts (service, cluster, rollout, changed_at, position)
                        VALUES (\(p.name), \(p.cluster), \(try CanonicalJSON.encode(rollout))::jsonb, \(e.time)::timestamptz, \(position))
                        ON CONFLICT (service, cluster) DO UPDATE SET rollout = EXCLUDED.rollout, changed_at = EXCLUDED.changed_at,
                            position = EXCLUDED.position
                        """, logger: logger)
                } else {
                    try await c.query("DELETE FROM \(unescaped: s).rollouts WHERE service = \(p.name) AND cluster = \(p.cluster)", logger: logger)
                }
            case let p as ServiceDestroyed:
                try await c.query("DELETE FROM \(unescaped: s).rollouts WHERE service = \(p.name)", logger: logger)
            default:
                continue
            }
        }
    }
}
