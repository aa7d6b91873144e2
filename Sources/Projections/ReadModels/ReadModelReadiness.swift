import EventLog
import Foundation
import PostgresNIO

/// A query of a read model that is being rebuilt (new or changed layout): its tables are not complete yet, so the
/// answer would be wrong rather than late. The API answers 503 with this reason.
public struct ReadModelRebuilding: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "read model \"\(name)\" is being rebuilt from the log after a layout change; try again shortly" }
}

/// Which read models are not ready, looked up at most once a second per database and schema (queries ask on
/// every call; the rebuild flips the flag once).
enum ReadModelReadiness {
    private struct Key: Hashable { var database: ObjectIdentifier; var schema: String }
    private static let lock = NSLock()
    nonisolated(unsafe) private static var known: [Key: (at: ContinuousClock.Instant, notReady: Set<String>)] = [:]

    static func require(_ name: String, schema: String, database: Database) async throws {
        let key = Key(database: ObjectIdentifier(database), schema: schema)
        let cached = lock.withLock { known[key] }
        var notReady: Set<String>
        if let cached, ContinuousClock.now - cached.at < .seconds(1) {
            notReady = cached.notReady
        } else {
            notReady = []
            let rows = try await database.client.query(PostgresQuery(unsafeSQL: "SELECT name FROM \(schema).read_models WHERE NOT ready"),
                                                       logger: database.logger)
            for try await n in rows.decode(String.self) { notReady.insert(n) }
            let fresh = notReady
            lock.withLock { known[key] = (.now, fresh) }
        }
        if notReady.contains(name) { throw ReadModelRebuilding(name: name) }
    }
}

extension ReadModelQueries {
    /// Throws `ReadModelRebuilding` while `name` is being rebuilt.
    func require(_ name: String) async throws {
        try await ReadModelReadiness.require(name, schema: schema, database: database)
    }
}
