import EventLog
import Events
import Foundation
import PostgresNIO
import Testing
import TestSupport

/// Someone with write access to the store appends commands straight into the commands topic (SQL on the embedded
/// log, a raw producer on Kafka), claiming to be the admin. The processor refuses them as unauthenticated and the
/// service does not change; a genuine record with its content changed is refused the same way.
@Suite struct ForgedCommandTests {
    @Test(arguments: LogKind.allCases) func forgedAndAlteredCommandsAreRefused(_ kind: LogKind) async throws {
        try await ServerHarness.with(kind) { harness, client in
            let created = try await client.call(.post, "/v1/services", json: #"{"name": "pay-api", "businessLine": "pay", "image": "r.example.com/p:1", "replicas": 1}"#)
            #expect(created.status == 201, "\(created.text)")
            let command = Command(ScaleService(name: "pay-api", replicas: 7))
            let partition = Partitioner.partition(for: command.aggregate, partitions: harness.partitions)
            let forged = CommandEnvelope(id: UUID().uuidString.lowercased(), actor: "user:admin", time: WharfTime.format(Date()),
                                         correlationId: "forged", command: command)
            let plain = OutgoingRecord(key: command.aggregate, value: try CanonicalJSON.encode(forged))
            // A genuine record (authenticated by this node's key) whose replica count is then changed.
            var genuine = try harness.runtime.commandAuthenticator.record(
                CommandEnvelope(id: UUID().uuidString.lowercased(), actor: "user:admin", time: WharfTime.format(Date()), correlationId: "altered",
                                command: Command(ScaleService(name: "pay-api", replicas: 2))))
            genuine.value = genuine.value.replacingOccurrences(of: #""replicas":2"#, with: #""replicas":8"#)

            switch kind {
            case .postgres:
                // Straight into the table's append function, as a database user could.
                for record in [plain, genuine] {
                    try await harness.store.database.client.query("""
                        SELECT wharf_log.append('commands', \(partition)::int, NULL::bigint, ARRAY[\(record.key)]::text[], ARRAY[\(record.value)]::text[])
                        """, logger: TestEnvironment.logger)
                }
            case .kafka:
                let kafka = try #require(harness.store.log as? KafkaEventLog)
                let producer = try KafkaProducer(brokers: try TestEnvironment.kafkaBrokers())
                defer { producer.close() }
                for record in [plain, genuine] {
                    _ = try await producer.send(topic: kafka.topicPrefix + Topics.commands, partition: partition, records: [record])
                }
            }

            var rows: [[String: Any]] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                rows = ((try await client.call(.get, "/v1/audit?aggregate=service/pay-api").json["items"] as? [[String: Any]]) ?? [])
                    .filter { ($0["actor"] as? String)?.hasPrefix("unauthenticated:") == true }
                if rows.count >= 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(rows.count == 2 && rows.allSatisfy { $0["outcome"] as? String == "rejected" && ($0["reason"] as? String ?? "").contains("unauthenticated command") },
                    "\(rows)")
            #expect(rows.contains { ($0["reason"] as? String ?? "").contains("carries no authentication code") })
            #expect(rows.contains { ($0["reason"] as? String ?? "").contains("does not match its content") })
            let service = try await client.call(.get, "/v1/services/pay-api")
            #expect(service.json["replicas"] as? Int == 1, "the service is unchanged: \(service.text)")
            // The API's own writes still go through.
            let scaled = try await client.call(.post, "/v1/services/pay-api/scale", json: #"{"replicas": 3}"#)
            #expect(scaled.status == 200, "\(scaled.text)")
        }
    }
}
