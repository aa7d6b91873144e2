import Server
import Testing

/// The event-log settings: a kafka:// URL becomes librdkafka's broker list; anything else is refused by name.
@Suite struct SettingsTests {
    @Test func kafkaURLsAndPartitions() throws {
        let one = try WharfSettings.fromEnvironment(["WHARF_EVENT_LOG": "kafka://10.0.0.1:9092", "WHARF_KAFKA_PARTITIONS": "24"])
        #expect(one.kafkaBrokers == "10.0.0.1:9092" && one.partitions == 24)
        let two = try WharfSettings.fromEnvironment(["WHARF_EVENT_LOG": "kafka://a.example:9092,b.example:9093"])
        #expect(two.kafkaBrokers == "a.example:9092,b.example:9093" && two.partitions == 12 && two.kafkaTopicPrefix == "wharf.")
        let postgres = try WharfSettings.fromEnvironment(["WHARF_PARTITIONS": "8", "WHARF_KAFKA_PARTITIONS": "24"])
        #expect(postgres.kafkaBrokers == nil && postgres.partitions == 8)
    }

    @Test(arguments: ["kafka", "kafka://", "kafka://host", "kafka://host:0", "kafka://host:port", "kafka://:9092",
                      "kafka://a:1,,b:2", "redis://a:1", "kafka://a:1;rm -rf /:2"])
    func badEventLogsAreRefusedByName(_ value: String) {
        #expect {
            try WharfSettings.fromEnvironment(["WHARF_EVENT_LOG": value])
        } throws: { error in
            "\(error)".contains("WHARF_EVENT_LOG")
        }
    }

    @Test func ssoSettingsComeTogetherOrNotAtAll() throws {
        #expect(try WharfSettings.fromEnvironment([:]).sso == nil)
        let sso = try WharfSettings.fromEnvironment(["WHARF_JWT_ISSUER": "https://idp.example.com", "WHARF_JWT_AUDIENCE": "wharf",
                                                     "WHARF_JWT_JWKS": "/etc/wharf/jwks.json"]).sso
        #expect(sso == .init(issuer: "https://idp.example.com", audience: "wharf", jwks: "/etc/wharf/jwks.json", userClaim: "preferred_username"))
        #expect {
            try WharfSettings.fromEnvironment(["WHARF_JWT_ISSUER": "https://idp.example.com", "WHARF_JWT_JWKS": "/x"])
        } throws: { "\($0)".contains("WHARF_JWT_AUDIENCE") }
    }

    @Test func badKafkaSettingsAreRefusedByName() {
        #expect { try WharfSettings.fromEnvironment(["WHARF_KAFKA_TOPIC_PREFIX": "a b"]) } throws: { "\($0)".contains("WHARF_KAFKA_TOPIC_PREFIX") }
        #expect { try WharfSettings.fromEnvironment(["WHARF_KAFKA_PARTITIONS": "0", "WHARF_EVENT_LOG": "kafka://a:1"]) } throws: {
            "\($0)".contains("WHARF_KAFKA_PARTITIONS")
        }
        #expect { try WharfSettings.fromEnvironment(["WHARF_KAFKA_REPLICATION": "-2"]) } throws: { "\($0)".contains("WHARF_KAFKA_REPLICATION") }
    }
}
