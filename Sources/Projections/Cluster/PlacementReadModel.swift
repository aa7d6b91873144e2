import Events
import EventLog
import Foundation
import Logging
import PostgresNIO

/// `placements`: each service's placement and its last decided division, with the inputs it was decided on.
/// A model of its own (the services model keeps its layout); the scheduler joins it with `services` for replicas.
/// `settled`: the last division whose every share was ready (`PlacementShares`: while it differs from `result`,
/// each cluster runs the larger share). Layout 2 added it.
struct PlacementReadModel: ReadModel {
    let name = "placements"
    let layoutVersion = 2
    let tables = ["placements"]

    func createStatements(schema s: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(s).placements (
                name text PRIMARY KEY,
                placement jsonb NOT NULL,
                placement_revision int NOT NULL,
                decided_revision int,
                decided_replicas int,
                result jsonb NOT NULL DEFAULT '{}',
                inputs jsonb NOT NULL DEFAULT '[]',
                settled jsonb,
                set_at timestamptz NOT NULL,
                set_by text NOT NULL,
                decided_at timestamptz,
                position text NOT NULL
            )
            """,
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
            case let p as ServicePlacementSet:
                try await run("""
                    INSERT INTO \(s).placements (name, placement, placement_revision, set_at, set_by, position)
                    VALUES ($1, $2::jsonb, $3, $4::timestamptz, $5, $6)
                    ON CONFLICT (name) DO UPDATE SET placement = EXCLUDED.placement, placement_revision = EXCLUDED.placement_revision,
                        set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by, position = EXCLUDED.position
                    """, p.name, try CanonicalJSON.encode(p.placement), p.placementRevision, e.time, e.actor, position)
            case let p as ServicePlacementDecided:
                try await run("""
                    UPDATE \(s).placements SET decided_revision = $2, decided_replicas = $3, result = $4::jsonb, inputs = $5::jsonb,
                        decided_at = $6::timestamptz, position = $7 WHERE name = $1
                    """, p.name, p.placementRevision, p.replicas, try CanonicalJSON.encode(p.result), try CanonicalJSON.encode(p.inputs), e.time, position)
            case let p as ServicePlacementSettled:
                // `position` stays: it stamps the objects the cluster worker applies, which a settling does not change.
                try await run("UPDATE \(s).placements SET settled = $2::jsonb WHERE name = $1", p.name, try CanonicalJSON.encode(p.result))
            default:
                continue
            }
        }
    }
}
