import EventLog
import Events
import Foundation
import PostgresNIO

/// A registered cluster as the cluster worker and the routes need it (the sealed token only for the worker).
public struct ClusterRecord: Sendable, Hashable {
    public var name: String
    public var spec: ClusterSpec
    public var sealedToken: String
    public var scheduling: ClusterScheduling
    public var health: ClusterHealth?
    /// Events position of the cluster's last change: it moves with every recorded change.
    public var position: String
    /// Seconds since the cluster stopped being healthy (nil while healthy or before the first report).
    public var unhealthyFor: Double?
    /// Seconds since its health last changed (nil before the first report).
    public var healthChangedFor: Double? = nil
}

extension ReadModelQueries {
    /// Registered clusters that are not removed, by name; `only` picks one.
    public func clusters(only: String? = nil) async throws -> [ClusterRecord] {
        try await require("clusters")
        return try await database.client.withConnection { c in
            let rows = try await c.query("""
                SELECT name, spec::text, sealed_token, scheduling, coalesce(health::text, ''), position,
                       coalesce(extract(epoch FROM clock_timestamp() - unhealthy_since)::float8, -1),
                       coalesce(extract(epoch FROM clock_timestamp() - health_changed_at)::float8, -1)
                  FROM \(unescaped: schema).clusters WHERE NOT removed AND (\(only ?? "") = '' OR name = \(only ?? "")) ORDER BY name
                """, logger: database.logger)
            var out: [ClusterRecord] = []
            for try await (name, spec, token, scheduling, health, position, age, changed)
                in rows.decode((String, String, String, String, String, String, Double, Double).self) {
                out.append(ClusterRecord(name: name, spec: try CanonicalJSON.decode(ClusterSpec.self, from: spec), sealedToken: token,
                                         scheduling: ClusterScheduling(rawValue: scheduling) ?? .cordoned,
                                         health: health.isEmpty ? nil : try CanonicalJSON.decode(ClusterHealth.self, from: health), position: position,
                                         unhealthyFor: age < 0 ? nil : age, healthChangedFor: changed < 0 ? nil : changed))
            }
            return out
        }
    }

    /// Clusters as the API shows them: no token; `only` picks one.
    public func clustersJSON(only: String? = nil) async throws -> String {
        try await require("clusters")
        return try await database.client.withConnection { c in
            let rows = try await c.query("""
                SELECT jsonb_build_object('items', coalesce(jsonb_agg(jsonb_strip_nulls(k.spec || jsonb_build_object(
                         'name', k.name, 'scheduling', k.scheduling, 'health', k.health,
                         'healthy', coalesce((k.health->>'reachable')::boolean AND (k.health->>'nodesTotal')::int > 0
                                             AND (k.health->>'nodesReady')::int = (k.health->>'nodesTotal')::int, false),
                         'healthChangedAt', \(unescaped: ProjectionWriter.timeText("k.health_changed_at")),
                         'registeredAt', \(unescaped: ProjectionWriter.timeText("k.registered_at")), 'registeredBy', k.registered_by,
                         'updatedAt', \(unescaped: ProjectionWriter.timeText("k.updated_at")), 'updatedBy', k.updated_by,
                         'position', k.position)) ORDER BY k.name), '[]'::jsonb))::text
                  FROM \(unescaped: schema).clusters k WHERE NOT k.removed AND (\(only ?? "") = '' OR k.name = \(only ?? ""))
                """, logger: database.logger)
            for try await text in rows.decode(String.self) { return text }
            return #"{"items":[]}"#
        }
    }
}
