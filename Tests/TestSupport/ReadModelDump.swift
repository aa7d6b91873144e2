import EventLog
import Foundation
import PostgresNIO

/// Every row of the read-model tables as JSON text, in a fixed order, for row-by-row comparison.
public enum ReadModelDump {
    public static let tables = ["services": "name", "service_revisions": "service, revision", "audit": "command_id", "offsets": "partition"]

    public static func dump(_ database: Database, schema: String = "wharf_read", tables: [String: String] = tables) async throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for (table, order) in tables {
            let rows = try await database.client.query(PostgresQuery(unsafeSQL: "SELECT to_jsonb(t)::text FROM \(schema).\(table) t ORDER BY \(order)"))
            var lines: [String] = []
            for try await line in rows.decode(String.self) { lines.append(line) }
            out[table] = lines
        }
        return out
    }
}
