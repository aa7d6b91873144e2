import EventLog
import Foundation
import Testing

/// WHARF_KAFKA_PROPERTIES: TLS and SASL settings for librdkafka; anything else is refused by name and line.
@Suite struct KafkaPropertiesTests {
    @Test func securitySettingsPassAndOthersAreRefused() throws {
        let text = """
            # SASL over TLS to the company's brokers
            security.protocol = SASL_SSL
            sasl.mechanism=SCRAM-SHA-512
            sasl.username=wharf
            sasl.password=s3cret=with=equals
            ssl.ca.location=/etc/ssl/certs/kafka-ca.pem
            """
        let settings = try KafkaProperties.parse(text, source: "kafka.properties")
        #expect(settings == ["security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "wharf",
                             "sasl.password": "s3cret=with=equals", "ssl.ca.location": "/etc/ssl/certs/kafka-ca.pem"])
        #expect { try KafkaProperties.parse("ssl.ca.location=/x\nenable.idempotence=false\n", source: "p") } throws: {
            "\($0)".contains("line 2") && "\($0)".contains("enable.idempotence")
        }
        #expect { try KafkaProperties.parse("security.protocol\n", source: "p") } throws: { "\($0)".contains("name=value") }
        #expect(try KafkaProperties.fromEnvironment([:]).isEmpty)
        #expect { try KafkaProperties.fromEnvironment([KafkaProperties.variable: "/nonexistent/kafka.properties"]) } throws: {
            "\($0)".contains("WHARF_KAFKA_PROPERTIES") && "\($0)".contains("/nonexistent/kafka.properties")
        }
    }
}
