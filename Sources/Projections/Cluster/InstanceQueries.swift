import Foundation
import PostgresNIO

extension ReadModelQueries {
    /// GET /v1/services/{name}/instances: the pods running now, cluster by cluster.
    public func instancesJSON(service: String) async throws -> String {
        try await instanceItems(service: service, where: "gone_at IS NULL", order: "cluster, pod", limit: 10_000)
    }

    /// GET /v1/services/{name}/history: every pod seen, newest first (gone ones with `goneAt`).
    public func instanceHistoryJSON(service: String, limit: Int) async throws -> String {
        try await instanceItems(service: service, where: "true", order: "first_seen DESC, cluster, pod", limit: limit)
    }

    private func instanceItems(service: String, where condition: String, order: String, limit: Int) async throws -> String {
        try await require("instances")
        return try await database.client.withConnection { c in
            let rows = try await c.query("""
                SELECT jsonb_build_object('items', coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                         'cluster', i.cluster, 'pod', i.pod, 'ip', i.ip, 'node', i.node, 'phase', i.phase, 'ready', i.ready,
                         'restarts', i.restarts, 'reason', i.reason, 'startedAt', i.started_at,
                         'firstSeen', \(unescaped: ProjectionWriter.timeText("i.first_seen")),
                         'changedAt', \(unescaped: ProjectionWriter.timeText("i.changed_at")),
                         'goneAt', \(unescaped: ProjectionWriter.timeText("i.gone_at")))) ORDER BY \(unescaped: order)), '[]'::jsonb))::text
                  FROM (SELECT * FROM \(unescaped: schema).instances WHERE service = \(service) AND \(unescaped: condition)
                         ORDER BY \(unescaped: order) LIMIT \(limit)) i
                """, logger: database.logger)
            for try await text in rows.decode(String.self) { return text }
            return #"{"items":[]}"#
        }
    }
}

extension ReadModelQueries {
    /// GET /v1/services/{name}/rollout: per cluster, the Deployment's rollout as last reported.
    public func rolloutsJSON(service: String) async throws -> String {
        try await require("rollouts")
        return try await database.client.withConnection { c in
            let rows = try await c.query("""
                SELECT jsonb_build_object('items', coalesce(jsonb_agg(r.rollout || jsonb_build_object('cluster', r.cluster,
                         'changedAt', \(unescaped: ProjectionWriter.timeText("r.changed_at"))) ORDER BY r.cluster), '[]'::jsonb))::text
                  FROM \(unescaped: schema).rollouts r WHERE r.service = \(service)
                """, logger: database.logger)
            for try await text in rows.decode(String.self) { return text }
            return #"{"items":[]}"#
        }
    }
}
