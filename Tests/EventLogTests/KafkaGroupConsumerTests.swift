import EventLog
import Events
import Foundation
import Testing
import TestSupport

/// Our librdkafka group consumer against the real broker: rebalances surface as assigned/revoked partitions,
/// assigned partitions start at the offsets the application keeps, and records come in batches.
@Suite struct KafkaGroupConsumerTests {
    final class Rebalances: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [KafkaGroupConsumer.Rebalance] = []
        func add(_ r: KafkaGroupConsumer.Rebalance) { lock.withLock { list.append(r) } }
        var all: [KafkaGroupConsumer.Rebalance] { lock.withLock { list } }
    }

    @Test(.timeLimit(.minutes(3))) func membersSplitPartitionsAndStartFromStoredOffsets() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_group_test")
        defer { Task { await database.close() } }
        let prefix = TestEnvironment.uniqueTopicPrefix("group")
        let log = try await TestEnvironment.kafkaLog(database: database, prefix: prefix)
        defer { log.close() }
        try await log.ensureTopics([TopicSpec(name: "g", partitions: 4, chained: false)])
        for p in 0..<4 { try await log.append(topic: "g", partition: p, records: (0..<3).map { OutgoingRecord(key: "k", value: "\(p)-\($0)") }) }
        let topic = prefix + "g", group = "group-test-\(UUID().uuidString.prefix(8))"
        let brokers = try TestEnvironment.kafkaBrokers()

        let seenA = Rebalances()
        let a = try KafkaGroupConsumer(brokers: brokers, group: group, topics: [topic],
                                       startOffset: { $0.partition == 0 ? 2 : nil }, onRebalance: seenA.add)
        var records: [LogRecord] = []
        try await until("the first member holds all 4 partitions and has read them", timeout: .seconds(30)) {
            records += try await a.poll(max: 100, timeout: .milliseconds(200))
            return a.assignment.count == 4 && records.count == 10
        }
        #expect(Set(records.map(\.value)) == Set(["0-2"] + (1..<4).flatMap { p in (0..<3).map { "\(p)-\($0)" } }),
                "partition 0 started at the stored offset 2, the others at the beginning")
        #expect(seenA.all.first == .assigned((0..<4).map { .init(topic: topic, partition: $0) }))

        let b = try KafkaGroupConsumer(brokers: brokers, group: group, topics: [topic])
        try await until("the two members split the partitions", timeout: .seconds(45)) {
            async let pa = a.poll(max: 100, timeout: .milliseconds(100))
            async let pb = b.poll(max: 100, timeout: .milliseconds(100))
            _ = try await (pa, pb)
            return a.assignment.count == 2 && b.assignment.count == 2
        }
        #expect(a.assignment.isDisjoint(with: b.assignment))
        #expect(seenA.all.contains { if case .revoked(let r) = $0 { return r.count == 4 } else { return false } }, "\(seenA.all)")

        await b.close()
        try await until("the survivor holds every partition again", timeout: .seconds(45)) {
            _ = try await a.poll(max: 100, timeout: .milliseconds(200))
            return a.assignment.count == 4
        }
        await a.close()
    }

    func until(_ what: String, timeout: Duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
        }
        Issue.record("timed out waiting until \(what)")
    }
}
