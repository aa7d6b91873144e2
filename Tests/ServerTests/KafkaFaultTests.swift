import AsyncHTTPClient
import EventLog
import Events
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Testing
import TestSupport

/// Kafka faults, each on a broker of the test's own: a broker that is not there at start, and a memory-only broker
/// that restarts and comes back with a different (shorter) history.
@Suite struct KafkaFaultTests {
    @Test(.timeLimit(.minutes(3))) func serveWaitsForAnUnreachableBrokerAndThenWorks() async throws {
        let logger = TestEnvironment.logger
        let scratch = try await Database.createScratch(base: try TestEnvironment.postgres(), prefix: "wharf_kafka_fault", logger: logger)
        let url = "postgres://\(scratch.username)@\(scratch.host ?? "127.0.0.1"):\(scratch.port)/\(scratch.database)"
        let broker = TansuBroker(port: try TestEnvironment.freePort())
        defer { broker.stop() }
        let token = "kafka-fault-token-0123456789"
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-kfault-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let node = try WharfProcess(databaseURL: url, token: token, port: try TestEnvironment.freePort(), dataDirectory: dataDirectory,
                                    environment: ["WHARF_EVENT_LOG": "kafka://\(broker.brokers)", "WHARF_KAFKA_PARTITIONS": "2"])
        defer { node.terminate() }

        // Each attempt waits up to 2 s for the broker; the message comes with the first failed attempt.
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, !node.log.contains("retrying in") { try await Task.sleep(for: .milliseconds(200)) }
        try await Task.sleep(for: .seconds(1))
        #expect(node.process.isRunning, "an unreachable broker is waited for, not a crash: \(node.log.suffix(2000))")
        #expect(node.log.contains("cannot reach Kafka at \(broker.brokers)"), "\(node.log.suffix(2000))")
        #expect(node.log.contains("retrying in"), "\(node.log.suffix(2000))")

        try broker.start()
        try await node.waitUntilHealthy(timeout: .seconds(60))
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(node.port)/v1/services")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.body = .bytes(ByteBuffer(string: #"{"name":"late-broker","businessLine":"ops","image":"reg.local/o/a:1","replicas":1}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(response.status.code == 201, "\(body)")
        node.terminate()
        try? await Database.dropScratch(scratch, logger: logger)
    }

    /// A memory-only broker restarts: its topics come back empty and fill with new records. A consumer that had
    /// seen records up to offset 5 must stop on that partition with a clear reason, not read the new history.
    @Test(.timeLimit(.minutes(3))) func aLogThatLostRecordsStopsTheConsumer() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_kafka_lost")
        defer { Task { await database.close() } }
        let broker = TansuBroker(port: try TestEnvironment.freePort())
        defer { broker.stop() }
        try broker.start()
        let prefix = TestEnvironment.uniqueTopicPrefix("lost")
        let log = try await TestEnvironment.kafkaLog(database: database, prefix: prefix, brokers: broker.brokers)
        defer { log.close() }
        let topics = [TopicSpec(name: "t", partitions: 1, chained: false)]
        try await log.ensureTopics(topics)
        try await log.append(topic: "t", partition: 0, records: (0..<5).map { OutgoingRecord(key: "k", value: "before-\($0)") })

        let seen = SeenRecords()
        let consumer = PartitionConsumer(log: log, topic: "t", group: nil, logger: TestEnvironment.logger) { _ in RecordingWorker(seen) }
        let running = Task { try await consumer.run() }
        defer { running.cancel() }
        try await waitUntil(timeout: .seconds(20)) { seen.values.count == 5 }
        #expect(seen.values == (0..<5).map { "before-\($0)" })

        broker.stop()
        try broker.start()
        // Another Wharf process starts on the empty broker: it creates the topics again and writes a new history.
        let restarted = try await TestEnvironment.kafkaLog(database: database, prefix: prefix, brokers: broker.brokers)
        defer { restarted.close() }
        try await restarted.ensureTopics(topics)
        try await restarted.append(topic: "t", partition: 0, records: (0..<2).map { OutgoingRecord(key: "k", value: "after-\($0)") })

        try await waitUntil(timeout: .seconds(60)) { consumer.halted[0] != nil }
        let reason = try #require(consumer.halted[0])
        #expect(reason.contains("lost records"), "\(reason)")
        #expect(seen.values.allSatisfy { $0.hasPrefix("before-") }, "nothing of the new history was consumed")
    }

    func waitUntil(timeout: Duration, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !condition() { try await Task.sleep(for: .milliseconds(100)) }
        #expect(condition(), "timed out")
    }
}

final class SeenRecords: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    private var nextOffset: Int64 = 0
    var values: [String] { lock.withLock { list } }
    var next: Int64 { lock.withLock { nextOffset } }
    func add(_ records: [LogRecord]) {
        lock.withLock {
            list += records.map(\.value)
            if let last = records.last { nextOffset = last.offset + 1 }
        }
    }
}

/// Keeps its checkpoint across restarts of the consume loop, as a projector keeps its offset in Postgres.
final class RecordingWorker: PartitionWorker {
    let seen: SeenRecords
    init(_ seen: SeenRecords) { self.seen = seen }
    func start() async throws -> Int64 { seen.next }
    func handle(_ records: [LogRecord]) async throws { seen.add(records) }
}
