import Foundation
import PostgresNIO

/// A recreate or debug container a cluster worker has still to carry out.
public struct PendingOperationRow: Sendable, Hashable {
    public var id: String
    public var service: String
    public var pod: String
    public var kind: String
    public var container: String?
    public var image: String?
}

extension ReadModelQueries {
    /// The pending operations on `cluster`'s pods, oldest first.
    public func pendingInstanceOperations(cluster: String, limit: Int = 100) async throws -> [PendingOperationRow] {
        try await require("instance_operations")
        return try await database.client.withConnection { c in
            let rows = try await c.query("""
                SELECT id, service, pod, kind, container, image FROM \(unescaped: schema).instance_operations
                 WHERE cluster = \(cluster) AND state = 'pending' ORDER BY requested_at, id LIMIT \(limit)
                """, logger: database.logger)
            var out: [PendingOperationRow] = []
            for try await (id, service, pod, kind, container, image) in rows.decode((String, String, String, String, String?, String?).self) {
                out.append(PendingOperationRow(id: id, service: service, pod: pod, kind: kind, container: container, image: image))
            }
            return out
        }
    }

    /// GET /v1/services/{name}/operations: newest first; with `id`, that one operation (nil when unknown).
    public func instanceOperationsJSON(service: String, id: String? = nil, limit: Int = 100) async throws -> String? {
        try await require("instance_operations")
        return try await database.client.withConnection { c in
            let rows = try await c.query("""
                SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                         'id', o.id, 'cluster', o.cluster, 'pod', o.pod, 'kind', o.kind, 'container', o.container, 'image', o.image,
                         'request', CASE WHEN o.request = '{}'::jsonb THEN NULL ELSE o.request END,
                         'state', o.state, 'detail', o.detail, 'requestedBy', o.requested_by,
                         'requestedAt', \(unescaped: ProjectionWriter.timeText("o.requested_at")),
                         'finishedAt', \(unescaped: ProjectionWriter.timeText("o.finished_at")))) ORDER BY o.requested_at DESC, o.id), '[]'::jsonb)::text
                  FROM (SELECT * FROM \(unescaped: schema).instance_operations
                         WHERE service = \(service) AND (\(id)::text IS NULL OR id = \(id))
                         ORDER BY requested_at DESC, id LIMIT \(limit)) o
                """, logger: database.logger)
            var text = "[]"
            for try await t in rows.decode(String.self) { text = t }
            guard id != nil else { return #"{"items":"# + text + "}" }
            // One item: the array's only element, without parsing it.
            return text == "[]" ? nil : String(text.dropFirst().dropLast())
        }
    }
}
