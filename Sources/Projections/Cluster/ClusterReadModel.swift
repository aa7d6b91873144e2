import Events
import EventLog
import Foundation
import Logging
import PostgresNIO

/// `clusters`: each registered Kubernetes cluster, its scheduling and last health. The sealed token is kept for
/// the cluster worker only; no query that answers the API selects it.
struct ClusterReadModel: ReadModel {
    let name = "clusters"
    let layoutVersion = 1
    let tables = ["clusters"]

    func createStatements(schema s: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(s).clusters (
                name text PRIMARY KEY,
                spec jsonb NOT NULL,
                sealed_token text NOT NULL,
                scheduling text NOT NULL,
                removed boolean NOT NULL DEFAULT false,
                health jsonb,
                health_changed_at timestamptz,
                unhealthy_since timestamptz,
                registered_at timestamptz NOT NULL,
                registered_by text NOT NULL,
                updated_at timestamptz NOT NULL,
                updated_by text NOT NULL,
                position text NOT NULL
            )
            """,
        ]
    }

    func apply(_ events: ProjectedEvents, schema s: String, on c: PostgresConnection, logger: Logger) async throws {
        for event in events {
            let e = event.envelope
            guard AggregateKey.kind(of: e.aggregate) == ClusterAggregate.kind else { continue }
            let position = event.record.position.description
            func run(_ sql: String, _ values: any PostgresEncodable...) async throws {
                try await c.query(PostgresQuery(unsafeSQL: sql, binds: binds(list: values)), logger: logger)
            }
            switch e.event.payload {
            case let p as ClusterRegistered:
                // A name registered again after its removal starts over.
                try await run("""
                    INSERT INTO \(s).clusters (name, spec, sealed_token, scheduling, removed, health, health_changed_at, registered_at, registered_by,
                                               updated_at, updated_by, position)
                    VALUES ($1, $2::jsonb, $3, 'active', false, NULL, NULL, $4::timestamptz, $5, $4::timestamptz, $5, $6)
                    ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, sealed_token = EXCLUDED.sealed_token, scheduling = 'active', removed = false,
                        health = NULL, health_changed_at = NULL, unhealthy_since = NULL, registered_at = EXCLUDED.registered_at, registered_by = EXCLUDED.registered_by,
                        updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by, position = EXCLUDED.position
                    """, p.name, try CanonicalJSON.encode(p.spec), p.token, e.time, e.actor, position)
            case let p as ClusterSchedulingChanged:
                try await run("UPDATE \(s).clusters SET scheduling = $2, updated_at = $3::timestamptz, updated_by = $4, position = $5 WHERE name = $1",
                              p.name, p.scheduling.rawValue, e.time, e.actor, position)
            case let p as ClusterHealthChanged:
                // The failover grace counts from when the cluster stopped being healthy, not from its latest change.
                try await run("""
                    UPDATE \(s).clusters SET health = $2::jsonb, health_changed_at = $3::timestamptz, position = $4,
                        unhealthy_since = CASE WHEN $5 THEN NULL ELSE coalesce(unhealthy_since, $3::timestamptz) END WHERE name = $1
                    """, p.name, try CanonicalJSON.encode(p.health), e.time, position, p.health.healthy)
            case let p as ClusterRemoved:
                try await run("UPDATE \(s).clusters SET removed = true, updated_at = $2::timestamptz, updated_by = $3, position = $4 WHERE name = $1",
                              p.name, e.time, e.actor, position)
            default:
                continue
            }
        }
    }
}

extension ClusterAggregate: ProjectedAggregate {
    /// Clusters, and the placements and pods of services over them (fed by service events).
    public static var readModels: [any ReadModel] { [ClusterReadModel(), PlacementReadModel(), InstanceReadModel(), InstanceOperationReadModel(), RolloutReadModel()] }
}
