import EventLog
import Events
import Foundation
import Logging

/// The log store and database a Wharf command works on: WHARF_DATABASE_URL, or the embedded cluster under the
/// data directory (started if needed, and stopped again on `close()` only if this process started it).
public final class WharfStore: @unchecked Sendable {
    public let database: Database
    public let log: PostgresEventLog
    private let embedded: EmbeddedPostgres?
    private let startedEmbedded: Bool

    private init(database: Database, log: PostgresEventLog, embedded: EmbeddedPostgres?, startedEmbedded: Bool) {
        self.database = database; self.log = log; self.embedded = embedded; self.startedEmbedded = startedEmbedded
    }

    /// `createTopics`: the server creates missing topics with WHARF_PARTITIONS; tools (audit, rebuild) only open an
    /// existing log, whatever its partition count.
    public static func open(_ settings: WharfSettings, logger: Logger, listen: Bool = true, createTopics: Bool = true) async throws -> WharfStore {
        var embedded: EmbeddedPostgres?
        var started = false
        let dbSettings: DatabaseSettings
        if let url = settings.databaseURL {
            dbSettings = try DatabaseSettings(url: url)
        } else {
            let pg = try EmbeddedPostgres(dataDirectory: settings.dataDirectory)
            started = try pg.start()
            embedded = pg
            dbSettings = pg.settings
            logger.info("embedded Postgres at \(pg.clusterDirectory) (socket \(pg.socketDirectory))")
        }
        let database = try await Database.open(dbSettings, logger: logger)
        let log = try await PostgresEventLog.open(database: database, listen: listen)
        if createTopics {
            try await log.ensureTopics(TopicSpec.spine(partitions: settings.partitions))
        } else {
            do {
                _ = try await log.partitionCount(topic: Topics.events)
            } catch {
                await database.close()
                if started { embedded?.stop() }
                throw NoLogFound(database: dbSettings)
            }
        }
        return WharfStore(database: database, log: log, embedded: embedded, startedEmbedded: started)
    }

    /// Wraps an already open database and log (tests, benchmarks); `close()` then closes both.
    public static func attach(database: Database, log: PostgresEventLog) -> WharfStore {
        WharfStore(database: database, log: log, embedded: nil, startedEmbedded: false)
    }

    public func close() async {
        log.close()
        await database.close()
        if startedEmbedded { embedded?.stop() }
    }
}

public struct NoLogFound: Error, CustomStringConvertible {
    public var database: DatabaseSettings
    public var description: String { "no Wharf log in \(database): has `wharf serve` run against it? (check WHARF_DATABASE_URL / WHARF_DATA_DIR)" }
}
