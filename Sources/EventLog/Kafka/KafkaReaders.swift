import CRdKafka
import Foundation

/// One librdkafka consumer handle used with the partition-level (simple) consumer API: it can fetch many
/// (topic, partition)s at once, each from its own start offset into its own queue. read_committed, so records
/// of open or aborted transactions are never seen.
final class KafkaFetcher: @unchecked Sendable {
    let handle: OpaquePointer
    private var topics: [String: OpaquePointer] = [:]

    init(brokers: String) throws {
        handle = try KafkaHandle.make(RD_KAFKA_CONSUMER, brokers: brokers, settings: [
            "isolation.level": "read_committed",
            "enable.partition.eof": "true",
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            // Out-of-range reads (past the end, or before a truncated start) are reported, never silently moved.
            "auto.offset.reset": "error",
            "fetch.wait.max.ms": "10",
            "fetch.error.backoff.ms": "5",
            "queued.min.messages": "20000",
            "queued.max.messages.kbytes": "8192",
        ])
    }

    /// Called with the pool lock held.
    func topic(_ name: String) throws -> OpaquePointer {
        if let known = topics[name] { return known }
        guard let topic = rd_kafka_topic_new(handle, name, nil) else {
            throw KafkaError("cannot open topic \(name)", code: rd_kafka_last_error())
        }
        topics[name] = topic
        return topic
    }

    func close() {
        topics.values.forEach { rd_kafka_topic_destroy($0) }
        topics = [:]
        rd_kafka_destroy(handle)
    }
}

/// A reader's position in one partition on one fetcher. Sequential readers (a projector, the processor, the
/// tail of the outcome tracker) find their cursor again by the offset they ask for next, so librdkafka keeps
/// prefetching for them instead of seeking on every call.
final class KafkaReadCursor: @unchecked Sendable {
    let fetcher: KafkaFetcher
    let topic: String
    let partition: Int
    let rkt: OpaquePointer
    /// The offset its owner asks for next: one past the last record handed out, or where it started.
    var next: Int64
    /// Records fetched ahead (by a wait) and not handed out yet.
    var pending: [LogRecord] = []
    /// The end-of-partition offset librdkafka reported last, if no record came after it.
    var atEnd: Int64?
    /// The fetch offset was out of range (past the end or before the start); the cursor must restart.
    var outOfRange = false
    var busy = false
    var lastUsed = ContinuousClock.now

    /// `topic` is the log's name for it (what records carry), `physicalTopic` Kafka's. Called with the pool lock held.
    init(fetcher: KafkaFetcher, topic: String, physicalTopic: String, partition: Int, from offset: Int64) throws {
        self.fetcher = fetcher; self.topic = topic; self.partition = partition; self.next = offset
        rkt = try fetcher.topic(physicalTopic)
        try start(at: offset)
    }

    private func start(at offset: Int64) throws {
        if rd_kafka_consume_start(rkt, Int32(partition), offset) == -1 {
            throw KafkaError("cannot read \(topic)/\(partition) from \(offset)", code: rd_kafka_last_error())
        }
    }

    func restart(at offset: Int64) throws {
        rd_kafka_consume_stop(rkt, Int32(partition))
        next = offset; pending = []; atEnd = nil; outOfRange = false
        try start(at: offset)
    }

    func stop() { rd_kafka_consume_stop(rkt, Int32(partition)) }

    /// Takes up to `max` queued messages, waiting up to `timeoutMs` for the first. Blocking when timeoutMs > 0.
    func fetch(max: Int, timeoutMs: Int32, includeChain: Bool) throws -> [LogRecord] {
        var buffer = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: max)
        let count = rd_kafka_consume_batch(rkt, Int32(partition), timeoutMs, &buffer, max)
        if count < 0 { throw KafkaError("cannot read \(topic)/\(partition)", code: rd_kafka_last_error()) }
        var out: [LogRecord] = []
        out.reserveCapacity(count)
        var failure: KafkaError?
        for i in 0..<count {
            guard let message = buffer[i] else { continue }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                out.append(LogRecord(kafkaMessage: message, topic: topic, includeChain: includeChain))
                atEnd = nil
            } else if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                atEnd = m.offset
            } else if m.err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || m.err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE {
                outOfRange = true
            } else if failure == nil {
                failure = KafkaError("reading \(topic)/\(partition)", code: m.err)
            }
        }
        if let failure, out.isEmpty { throw failure }
        return out
    }

}

extension LogRecord {
    /// A consumed message as a record of `topic` (the name the reader knows it by); with `includeChain`, the hash
    /// chain from its headers.
    init(kafkaMessage message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String, includeChain: Bool) {
        let m = message.pointee
        let key = m.key.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: m.key_len), as: UTF8.self) } ?? ""
        let value = m.payload.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: m.len), as: UTF8.self) } ?? ""
        self.init(topic: topic, partition: Int(m.partition), offset: m.offset, key: key, value: value)
        guard includeChain else { return }
        var headers: OpaquePointer?
        if rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers {
            prevHash = Self.header(headers, KafkaEventLog.prevHashHeader)
            hash = Self.header(headers, KafkaEventLog.hashHeader)
        }
    }

    private static func header(_ headers: OpaquePointer, _ name: String) -> String? {
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(headers, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let value else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: value, count: size), as: UTF8.self)
    }
}

/// Hands out read cursors over a small pool of fetchers. A reader gets the idle cursor already positioned at the
/// offset it asks for; otherwise a new cursor on a fetcher that has none for the partition; otherwise the least
/// recently used idle cursor of the partition, moved.
final class KafkaReaderPool: @unchecked Sendable {
    private let brokers: String
    private let topicPrefix: String
    private let lock = NSLock()
    private var fetchers: [KafkaFetcher] = []
    private var cursors: [String: [KafkaReadCursor]] = [:]
    private let maxFetchers: Int
    private let idleAfter = Duration.seconds(60)
    private var lastSweep = ContinuousClock.now

    init(brokers: String, topicPrefix: String, maxFetchers: Int = 6) {
        self.brokers = brokers; self.topicPrefix = topicPrefix; self.maxFetchers = maxFetchers
    }

    private static func slot(_ topic: String, _ partition: Int) -> String { "\(topic)#\(partition)" }

    /// nil when every cursor of the partition is busy and no fetcher is left; the caller retries shortly.
    func checkout(topic: String, partition: Int, from offset: Int64, create: Bool = true) throws -> KafkaReadCursor? {
        try lock.withLock {
            sweepIdle()
            let slot = Self.slot(topic, partition)
            var list = cursors[slot] ?? []
            if let ready = list.first(where: { !$0.busy && !$0.outOfRange && $0.next == offset }) {
                ready.busy = true
                return ready
            }
            guard create else { return nil }
            var fetcher = fetchers.first { f in !list.contains { $0.fetcher === f } }
            if fetcher == nil, fetchers.count < maxFetchers {
                let made = try KafkaFetcher(brokers: brokers)
                fetchers.append(made)
                fetcher = made
            }
            if let fetcher {
                let cursor = try KafkaReadCursor(fetcher: fetcher, topic: topic, physicalTopic: topicPrefix + topic, partition: partition, from: offset)
                cursor.busy = true
                list.append(cursor)
                cursors[slot] = list
                return cursor
            }
            guard let idle = list.filter({ !$0.busy }).min(by: { $0.lastUsed < $1.lastUsed }) else { return nil }
            try idle.restart(at: offset)
            idle.busy = true
            return idle
        }
    }

    func checkin(_ cursor: KafkaReadCursor) {
        lock.withLock {
            cursor.busy = false
            cursor.lastUsed = .now
        }
    }

    /// Stops cursors nobody has used for a while, so their prefetch does not grow without a reader.
    private func sweepIdle() {
        let now = ContinuousClock.now
        guard now - lastSweep > .seconds(5) else { return }
        lastSweep = now
        for (slot, list) in cursors {
            let (stale, keep) = (list.filter { !$0.busy && now - $0.lastUsed > idleAfter }, list.filter { $0.busy || now - $0.lastUsed <= idleAfter })
            guard !stale.isEmpty else { continue }
            stale.forEach { $0.stop() }
            cursors[slot] = keep
        }
    }

    func close() {
        lock.withLock {
            cursors.values.joined().forEach { $0.stop() }
            cursors = [:]
            fetchers.forEach { $0.close() }
            fetchers = []
        }
    }
}
