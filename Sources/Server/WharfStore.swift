import EventLog
import Events
import Foundation
import Logging

/// The log store and database a Wharf command works on: WHARF_DATABASE_URL, or the embedded cluster under the
/// data directory (started if needed, and stopped again on `close()` only if this process started it). The log is
/// the Postgres one in that database, or Kafka when WHARF_EVENT_LOG is a kafka:// URL (projections, tokens and
/// partition ownership stay in Postgres).
public final class WharfStore: @unchecked Sendable {
    public let database: Database
    public let log: any EventLog
    private let closeLog: () -> Void
    private let embedded: EmbeddedPostgres?
    private let startedEmbedded: Bool

    private init(database: Database, log: any EventLog, closeLog: @escaping () -> Void, embedded: EmbeddedPostgres?, startedEmbedded: Bool) {
        self.database = database; self.log = log; self.closeLog = closeLog; self.embedded = embedded; self.startedEmbedded = startedEmbedded
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
        var closeLog: () -> Void = {}
        func abandon() async {
            closeLog()
            await database.close()
            if started { embedded?.stop() }
        }
        let log: any EventLog
        do {
            if let brokers = settings.kafkaBrokers {
                let kafka = try await openKafka(brokers: brokers, settings: settings, database: database, logger: logger)
                (log, closeLog) = (kafka, kafka.close)
            } else {
                let postgres = try await PostgresEventLog.open(database: database, listen: listen)
                (log, closeLog) = (postgres, postgres.close)
            }
        } catch {
            await abandon()
            throw error
        }
        if createTopics {
            do {
                try await log.ensureTopics(TopicSpec.spine(partitions: settings.partitions))
            } catch {
                await abandon()
                throw error
            }
        } else {
            do {
                _ = try await log.partitionCount(topic: Topics.events)
            } catch {
                await abandon()
                throw NoLogFound(where: settings.kafkaBrokers.map { "Kafka at \($0) (topic prefix \"\(settings.kafkaTopicPrefix)\")" } ?? "\(dbSettings)")
            }
        }
        return WharfStore(database: database, log: log, closeLog: closeLog, embedded: embedded, startedEmbedded: started)
    }

    /// Connects to Kafka, waiting with backoff while the brokers are unreachable (a message per attempt, no crash
    /// loop). Partition ownership uses advisory locks in `database`, so every Wharf process sharing the topics
    /// must share the database too.
    public static func openKafka(brokers: String, settings: WharfSettings, database: Database, logger: Logger) async throws -> KafkaEventLog {
        let log = try KafkaEventLog(brokers: brokers, topicPrefix: settings.kafkaTopicPrefix, replicationFactor: settings.kafkaReplication) { group in
            try await PostgresPartitionOwnership(database: database, group: group)
        }
        logger.info("Kafka log at \(brokers) (librdkafka \(KafkaEventLog.librdkafkaVersion), topics \(settings.kafkaTopicPrefix)*)")
        if !KafkaEventLog.librdkafkaIsRecentEnough {
            logger.error("librdkafka \(KafkaEventLog.librdkafkaVersion) is loaded; Wharf needs >= 2.3 (older ones cannot parse current brokers' replies). Put a newer librdkafka.so.1 first on LD_LIBRARY_PATH (ops/kafka install provides 2.16)")
        }
        do {
            try await log.connect { error, delay in
                logger.error("cannot reach Kafka at \(brokers): \(error); retrying in \(delay)")
            }
        } catch {
            log.close()
            throw error
        }
        return log
    }

    /// Wraps an already open database and log (tests, benchmarks); `close()` then closes both.
    /// The caller keeps closing the log itself.
    public static func attach(database: Database, log: any EventLog) -> WharfStore {
        WharfStore(database: database, log: log, closeLog: {}, embedded: nil, startedEmbedded: false)
    }

    public func close() async {
        closeLog()
        await database.close()
        if startedEmbedded { embedded?.stop() }
    }
}

public struct NoLogFound: Error, CustomStringConvertible {
    public var `where`: String
    public var description: String {
        "no Wharf log in \(`where`): has `wharf serve` run against it? (check WHARF_EVENT_LOG, WHARF_DATABASE_URL / WHARF_DATA_DIR)"
    }
}
