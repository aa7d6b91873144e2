import CRdKafka
import Events
import Foundation
import Logging

/// The log on Kafka (any broker speaking the Kafka protocol; tested against Tansu).
///
/// - Topics are `<prefix><name>`, created with the configured partition count and unlimited retention.
/// - Plain appends (commands, checkpoints) go through one idempotent producer (acks=all).
/// - Fenced or chained appends (the processor's events) are Kafka transactions of a per-partition transactional
///   producer, so a takeover fences the old writer; the hash chain travels in record headers.
/// - Reads are read_committed. Offsets increase but are not dense: each transaction's commit marker takes an
///   offset (`denseOffsets` is false), so readers continue from `last.offset + 1`, never count.
/// - Partition ownership comes from the `ownership` factory (Wharf uses Postgres advisory locks; see docs).
public final class KafkaEventLog: EventLog, @unchecked Sendable {
    static let prevHashHeader = "wharf-prev-hash"
    static let hashHeader = "wharf-hash"

    public let brokers: String
    public let topicPrefix: String
    public let replicationFactor: Int
    public var denseOffsets: Bool { false }
    let producer: KafkaProducer
    /// Metadata, topic creation and watermarks, on a handle of its own: read_uncommitted, so the end it reports is
    /// the high watermark (past every committed record), not the last stable offset.
    private let adminHandle: OpaquePointer
    let admin: KafkaAdmin
    private let readers: KafkaReaderPool
    private let signal = AppendSignal()
    private let makeOwnershipFor: @Sendable (String) async throws -> any PartitionOwnership
    private let lock = NSLock()
    /// Topics whose records carry the hash chain: the spine's events, and whatever `ensureTopics` declared.
    private var chainedTopics: Set<String> = []
    private var knownCounts: [String: Int] = [:]
    private var writers: [String: KafkaPartitionWriter] = [:]
    private var localHandlers: [@Sendable (LocalAppend) -> Void] = []

    /// `brokers`: `host:port[,host:port]`. Does not contact the brokers; `connect` does.
    public init(brokers: String, topicPrefix: String = "wharf.", replicationFactor: Int = -1,
                ownership: @escaping @Sendable (String) async throws -> any PartitionOwnership) throws {
        self.brokers = brokers; self.topicPrefix = topicPrefix; self.replicationFactor = replicationFactor
        self.makeOwnershipFor = ownership
        producer = try KafkaProducer(brokers: brokers)
        adminHandle = try KafkaHandle.make(RD_KAFKA_CONSUMER, brokers: brokers, settings: ["isolation.level": "read_uncommitted"])
        admin = KafkaAdmin(handle: adminHandle)
        readers = KafkaReaderPool(brokers: brokers, topicPrefix: topicPrefix)
        chainedTopics = Set(TopicSpec.spine(partitions: 1).filter(\.chained).map(\.name))
    }

    /// Waits until the cluster answers, retrying with backoff; `report` hears of each failed attempt.
    public func connect(timeout: Duration = .seconds(3600), report: (KafkaError, Duration) -> Void = { _, _ in }) async throws {
        let clock = ContinuousClock(), deadline = clock.now + timeout
        var delay = Duration.milliseconds(500)
        while true {
            do {
                _ = try await admin.partitionCounts(timeout: .seconds(2))
                return
            } catch let error as KafkaError {
                if clock.now + delay > deadline { throw error }
                report(error, delay)
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    /// The librdkafka loaded at run time; Wharf needs >= 2.3 (Debian 12's 2.0.2 cannot talk to current brokers).
    public static var librdkafkaVersion: String { KafkaHandle.runtimeVersion }
    public static var librdkafkaIsRecentEnough: Bool { rd_kafka_version() >= 0x0203_0000 }

    public func close() {
        let writers = lock.withLock { Array(self.writers.values) }
        writers.forEach { $0.close() }
        readers.close()
        producer.close()
        rd_kafka_destroy(adminHandle)
    }

    func physical(_ topic: String) -> String { topicPrefix + topic }

    public func ensureTopics(_ topics: [TopicSpec]) async throws {
        var existing = try await admin.partitionCounts()
        let missing = topics.filter { existing[physical($0.name)] == nil }
        if !missing.isEmpty {
            try await admin.createTopics(missing.map { (physical($0.name), $0.partitions) }, replicationFactor: replicationFactor)
            // Creation is asynchronous on some brokers: wait until metadata shows every new topic.
            for _ in 0..<100 {
                existing = try await admin.partitionCounts()
                if missing.allSatisfy({ existing[physical($0.name)] != nil }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        for topic in topics {
            guard let count = existing[physical(topic.name)] else {
                throw KafkaError("topic \(physical(topic.name)) was created but does not appear in the cluster's metadata")
            }
            guard count == topic.partitions else {
                throw EventLogError.partitionCountMismatch(topic: topic.name, existing: count, requested: topic.partitions)
            }
        }
        lock.withLock {
            for topic in topics {
                knownCounts[topic.name] = topic.partitions
                if topic.chained { chainedTopics.insert(topic.name) } else { chainedTopics.remove(topic.name) }
            }
        }
    }

    public func partitionCount(topic: String) async throws -> Int {
        if let known = lock.withLock({ knownCounts[topic] }) { return known }
        guard let count = try await admin.partitionCounts()[physical(topic)] else {
            throw EventLogError.unknownPartition(topic: topic, partition: 0)
        }
        lock.withLock { knownCounts[topic] = count }
        return count
    }

    @discardableResult
    public func append(topic: String, partition: Int, records: [OutgoingRecord], expectedNextOffset: Int64?) async throws -> Appended {
        guard !records.isEmpty else { return Appended(offsets: []) }
        let partitions = try await partitionCount(topic: topic)
        guard partition >= 0, partition < partitions else { throw EventLogError.unknownPartition(topic: topic, partition: partition) }
        let chained = lock.withLock { chainedTopics.contains(topic) }
        let offsets: [Int64]
        if chained || expectedNextOffset != nil {
            offsets = try await writer(topic: topic, partition: partition, chained: chained)
                .append(records, expectedNextOffset: expectedNextOffset, log: self)
        } else {
            offsets = try await producer.send(topic: physical(topic), partition: partition, records: records)
        }
        let handlers = lock.withLock { localHandlers }
        if !handlers.isEmpty {
            let local = LocalAppend(topic: topic, partition: partition, offsets: offsets, records: records)
            handlers.forEach { $0(local) }
        }
        signal.appended(topic: topic, partition: partition, end: (offsets.last ?? -1) + 1)
        return Appended(offsets: offsets)
    }

    private func writer(topic: String, partition: Int, chained: Bool) -> KafkaPartitionWriter {
        lock.withLock {
            let slot = "\(topic)#\(partition)"
            if let known = writers[slot] { return known }
            let made = KafkaPartitionWriter(topic: topic, physicalTopic: physical(topic), partition: partition, chained: chained, brokers: brokers)
            writers[slot] = made
            return made
        }
    }

    public func read(topic: String, partition: Int, from offset: Int64, limit: Int, includeChain: Bool) async throws -> [LogRecord] {
        guard limit > 0 else { return [] }
        let cursor = try await checkout(topic: topic, partition: partition, from: offset)
        defer { readers.checkin(cursor) }
        var out = Array(cursor.pending.prefix(limit))
        cursor.pending.removeFirst(out.count)
        do {
            try await fill(&out, from: cursor, topic: topic, partition: partition, offset: offset, limit: limit, includeChain: includeChain)
        } catch {
            // The records taken from librdkafka's queue so far are not lost: the next read of this offset gets them.
            cursor.pending = out + cursor.pending
            throw error
        }
        if let last = out.last { cursor.next = last.offset + 1 }
        return out
    }

    private func fill(_ out: inout [LogRecord], from cursor: KafkaReadCursor, topic: String, partition: Int, offset: Int64,
                      limit: Int, includeChain: Bool) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        while out.count < limit, !cursor.outOfRange, !Task.isCancelled {
            let got = try cursor.fetch(max: min(limit - out.count, 10_000), timeoutMs: 0, includeChain: includeChain)
            if !got.isEmpty { out += got; continue }
            if !out.isEmpty { break }
            if let end = cursor.atEnd {
                // At the end as far as the prefetch knows; ask the leader whether anything committed since
                // (read-your-writes for an append that has just returned). An open transaction keeps the
                // committed end below the high watermark for a moment: give it up to a second.
                let high = try await admin.watermarks(topic: physical(topic), partition: partition).high
                if high <= end || clock.now - start > .seconds(1) { break }
            } else if clock.now - start > .seconds(15) {
                throw KafkaError("reading \(topic)/\(partition) from \(offset) timed out: is the broker reachable?")
            }
            // consume_batch waits for all it is asked for: wait for one, then take the rest without waiting.
            let waited = try await KafkaHandle.blocking { try cursor.fetch(max: 1, timeoutMs: 100, includeChain: includeChain) }
            out += waited
        }
    }

    private func checkout(topic: String, partition: Int, from offset: Int64) async throws -> KafkaReadCursor {
        while true {
            if let cursor = try readers.checkout(topic: topic, partition: partition, from: offset) {
                return cursor
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The offset the next record will get at the latest: the high watermark (past commit markers).
    public func endOffset(topic: String, partition: Int) async throws -> Int64 {
        try await admin.watermarks(topic: physical(topic), partition: partition).high
    }

    /// The last committed record of a partition (offset -1 when it has none), found by reading a window before
    /// the end that grows until it holds a record.
    func lastRecord(topic: String, partition: Int) async throws -> (offset: Int64, hash: String?) {
        let (low, high) = try await admin.watermarks(topic: physical(topic), partition: partition)
        var window: Int64 = 8
        while true {
            var at = max(low, high - window)
            let windowStart = at
            var last: LogRecord?
            while true {
                let batch = try await read(topic: topic, partition: partition, from: at, limit: 1000, includeChain: true)
                guard let tail = batch.last else { break }
                last = tail
                at = tail.offset + 1
            }
            if let last { return (last.offset, last.hash) }
            if windowStart <= low { return (-1, nil) }
            window *= 8
        }
    }

    public func waitForRecords(topic: String, partition: Int, from offset: Int64, timeout: Duration) async {
        let clock = ContinuousClock(), deadline = clock.now + timeout
        while clock.now < deadline, !Task.isCancelled {
            // The reader's own cursor keeps fetching; look into its queue without waiting on a thread.
            if let cursor = try? readers.checkout(topic: topic, partition: partition, from: offset, create: true) {
                if cursor.pending.isEmpty, let fetched = try? cursor.fetch(max: 1000, timeoutMs: 0, includeChain: true) {
                    cursor.pending += fetched
                }
                let found = !cursor.pending.isEmpty
                readers.checkin(cursor)
                if found { return }
            }
            // Local appends wake at once; other processes' records show up in the cursor within a poll.
            await signal.wait(topic: topic, partition: partition, from: offset, timeout: min(.milliseconds(20), deadline - clock.now))
            if signal.knownEnd(topic: topic, partition: partition) > offset { return }
        }
    }

    public func makeOwnership(group: String) async throws -> any PartitionOwnership {
        try await makeOwnershipFor(group)
    }

    public func onLocalAppend(_ handler: @escaping @Sendable (LocalAppend) -> Void) {
        lock.withLock { localHandlers.append(handler) }
    }
}
