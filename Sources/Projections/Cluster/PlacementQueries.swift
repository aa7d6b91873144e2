import EventLog
import Events
import Foundation
import PostgresNIO

/// A service's placement as the scheduler needs it: what to divide and the last division.
public struct PlacementRecord: Sendable, Hashable {
    public var service: String
    public var placement: ServicePlacement
    public var placementRevision: Int
    /// The service's replicas now.
    public var replicas: Int
    public var decidedRevision: Int?
    public var decidedReplicas: Int?
    public var result: [String: Int]
    public var inputs: [PlacementInput]
    /// Replicas each cluster runs now (`PlacementShares.running`): during a move, the larger of settled and new share.
    public var running: [String: Int] { PlacementShares.running(result: result, settled: settled) }
    /// Events position of the placement's last change (set or decided): moves with every one.
    public var position: String
    /// The last division whose shares were all ready (nil: none yet).
    public var settled: [String: Int]?
}

extension ReadModelQueries {
    /// Placements of active services.
    public func placements(only: String? = nil) async throws -> [PlacementRecord] {
        try await require("placements")
        try await require("services")
        return try await database.client.withConnection { c in
            let rows = try await c.query("""
                SELECT p.name, p.placement::text, p.placement_revision, s.replicas, coalesce(p.decided_revision, 0), coalesce(p.decided_replicas, -1),
                       p.result::text, p.inputs::text, p.position, p.settled::text
                  FROM \(unescaped: schema).placements p JOIN \(unescaped: schema).services s ON s.name = p.name
                 WHERE s.status = 'active' AND (\(only ?? "") = '' OR p.name = \(only ?? "")) ORDER BY p.name
                """, logger: database.logger)
            var out: [PlacementRecord] = []
            for try await (name, placement, revision, replicas, decidedRevision, decidedReplicas, result, inputs, position, settled)
                in rows.decode((String, String, Int, Int, Int, Int, String, String, String, String?).self) {
                out.append(PlacementRecord(service: name, placement: try CanonicalJSON.decode(ServicePlacement.self, from: placement),
                                           placementRevision: revision, replicas: replicas,
                                           decidedRevision: decidedRevision == 0 ? nil : decidedRevision,
                                           decidedReplicas: decidedReplicas < 0 ? nil : decidedReplicas,
                                           result: try CanonicalJSON.decode([String: Int].self, from: result),
                                           inputs: try CanonicalJSON.decode([PlacementInput].self, from: inputs), position: position,
                                           settled: try settled.map { try CanonicalJSON.decode([String: Int].self, from: $0) }))
            }
            return out
        }
    }

    /// GET /v1/services/{name}/placement: the placement, its last division per cluster (`replicas`; `running` while
    /// a move holds more there; `ready` pods now) and the inputs it used. `settled`: whether every share is ready.
    public func placementJSON(service: String) async throws -> String? {
        try await require("placements")
        try await require("instances")
        return try await database.client.withConnection { c in
            let rows = try await c.query("""
                SELECT jsonb_strip_nulls(jsonb_build_object('service', p.name, 'division', p.placement->>'division', 'placement', p.placement,
                         'placementRevision', p.placement_revision, 'decidedRevision', p.decided_revision, 'replicas', p.decided_replicas,
                         'clusters', coalesce((SELECT jsonb_agg(jsonb_build_object('cluster', k.cluster,
                                                   'replicas', coalesce((p.result->>k.cluster)::int, 0),
                                                   'running', greatest(coalesce((p.result->>k.cluster)::int, 0),
                                                                       CASE WHEN p.settled IS DISTINCT FROM p.result
                                                                            THEN coalesce((p.settled->>k.cluster)::int, 0) ELSE 0 END),
                                                   'ready', (SELECT count(*) FROM \(unescaped: schema).instances i
                                                              WHERE i.service = p.name AND i.cluster = k.cluster AND i.gone_at IS NULL AND i.ready))
                                                 ORDER BY k.cluster)
                                                 FROM (SELECT jsonb_object_keys(p.result) AS cluster
                                                       UNION SELECT jsonb_object_keys(coalesce(p.settled, '{}'::jsonb))) k), '[]'::jsonb),
                         'settled', p.settled IS NOT DISTINCT FROM p.result,
                         'inputs', p.inputs, 'setAt', \(unescaped: ProjectionWriter.timeText("p.set_at")), 'setBy', p.set_by,
                         'decidedAt', \(unescaped: ProjectionWriter.timeText("p.decided_at")), 'position', p.position))::text
                  FROM \(unescaped: schema).placements p WHERE p.name = \(service)
                """, logger: database.logger)
            for try await text in rows.decode(String.self) { return text }
            return nil
        }
    }
}
