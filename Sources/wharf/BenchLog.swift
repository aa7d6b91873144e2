import EventLog
import Foundation
import Logging
import Server

/// The log a benchmark runs on, as the settings choose: Postgres in `database`, or with WHARF_EVENT_LOG=kafka://...
/// that Kafka under a fresh `bench-*` topic prefix (left behind).
enum BenchLog {
    static func open(settings: WharfSettings, database: Database, logger: Logger) async throws -> (any EventLog, () -> Void) {
        if let brokers = settings.kafkaBrokers {
            var kafkaSettings = settings
            kafkaSettings.kafkaTopicPrefix = "bench-\(UUID().uuidString.prefix(8).lowercased())."
            let log = try await WharfStore.openKafka(brokers: brokers, settings: kafkaSettings, database: database, logger: logger)
            return (log, log.close)
        }
        let log = try await PostgresEventLog.open(database: database)
        return (log, log.close)
    }

    static func describe(_ settings: WharfSettings) -> String {
        settings.kafkaBrokers.map { "Kafka at \($0) (librdkafka \(KafkaEventLog.librdkafkaVersion))" } ?? "Postgres"
    }
}
