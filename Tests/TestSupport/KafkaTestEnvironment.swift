import EventLog
import Foundation

/// Which log adapter a test runs against. Both are real: Postgres, and a Kafka broker started by ops/test.
public enum LogKind: String, CaseIterable, Sendable {
    case postgres, kafka
}

/// The Kafka broker ops/test started (Tansu on loopback): WHARF_TEST_KAFKA=host:port. Tests fail loudly when it
/// is missing. Every test gets its own topic prefix, so tests share the broker without sharing topics.
extension TestEnvironment {
    public static func kafkaBrokers() throws -> String {
        guard let brokers = ProcessInfo.processInfo.environment["WHARF_TEST_KAFKA"], !brokers.isEmpty else {
            throw Missing(description: "WHARF_TEST_KAFKA is not set: run the suite through ops/test, which starts a Kafka broker (Tansu)")
        }
        return brokers
    }

    /// The Tansu binary ops/test used (for tests that start a broker of their own).
    public static func tansuBinary() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["WHARF_TEST_TANSU"], FileManager.default.isExecutableFile(atPath: path) else {
            throw Missing(description: "WHARF_TEST_TANSU is not set to the Tansu binary: run the suite through ops/test (ops/kafka install)")
        }
        return path
    }

    public static func uniqueTopicPrefix(_ name: String = "test") -> String {
        "\(name)-\(UUID().uuidString.prefix(8).lowercased())."
    }

    /// A Kafka log on the test broker; partition ownership in `database`, as `wharf serve` does it.
    public static func kafkaLog(database: Database, prefix: String, brokers: String? = nil) async throws -> KafkaEventLog {
        let log = try KafkaEventLog(brokers: try brokers ?? kafkaBrokers(), topicPrefix: prefix, replicationFactor: -1) { group in
            try await PostgresPartitionOwnership(database: database, group: group)
        }
        try await log.connect(timeout: .seconds(20))
        return log
    }
}
