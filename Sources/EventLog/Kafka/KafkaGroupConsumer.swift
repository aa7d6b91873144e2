import CRdKafka
import Foundation

/// A member of a Kafka consumer group. Rebalances surface as `Assignment` changes (assigned and revoked
/// partitions); an assigned partition starts at the offset `startOffset` gives (offsets Wharf keeps in Postgres,
/// in the same transaction as its effects), or at the beginning. Messages come in batches from one poll.
/// Eager rebalancing (range assignment), which every Kafka-protocol broker supports.
public final class KafkaGroupConsumer: @unchecked Sendable {
    public struct TopicPartition: Hashable, Sendable {
        public var topic: String
        public var partition: Int
        public init(topic: String, partition: Int) { self.topic = topic; self.partition = partition }
    }

    public enum Rebalance: Sendable, Equatable {
        case assigned([TopicPartition])
        case revoked([TopicPartition])
    }

    private(set) var handle: OpaquePointer!
    private var queue: OpaquePointer!
    private let lock = NSLock()
    private var current: Set<TopicPartition> = []
    private let startOffset: @Sendable (TopicPartition) -> Int64?
    private let onRebalance: @Sendable (Rebalance) -> Void
    private let paused: Bool
    private var closed = false

    /// `fetch: false` keeps assigned partitions paused: membership only (the group decides who owns what, the
    /// owner reads by other means).
    public init(brokers: String, group: String, topics: [String], fetch: Bool = true, settings extra: [String: String] = [:],
                startOffset: @escaping @Sendable (TopicPartition) -> Int64? = { _ in nil },
                onRebalance: @escaping @Sendable (Rebalance) -> Void = { _ in }) throws {
        self.startOffset = startOffset
        self.onRebalance = onRebalance
        self.paused = !fetch
        let settings = [
            "group.id": group,
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "range",
            // A dead member is noticed after the session timeout; 6 s keeps takeovers short.
            "session.timeout.ms": "6000",
            "heartbeat.interval.ms": "500",
        ].merging(extra) { $1 }
        // The handle never outlives this object (close() destroys it), so an unretained reference is safe.
        let context = Unmanaged.passUnretained(self).toOpaque()
        handle = try KafkaHandle.make(RD_KAFKA_CONSUMER, brokers: brokers, settings: settings) { conf in
            rd_kafka_conf_set_rebalance_cb(conf, groupRebalance)
            rd_kafka_conf_set_opaque(conf, context)
        }
        rd_kafka_poll_set_consumer(handle)
        queue = rd_kafka_queue_get_consumer(handle)
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let code = rd_kafka_subscribe(handle, list)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_queue_destroy(queue)
            rd_kafka_destroy(handle)
            throw KafkaError("cannot subscribe to \(topics)", code: code)
        }
    }

    /// The partitions this member holds now.
    public var assignment: Set<TopicPartition> { lock.withLock { current } }

    /// Serves group protocol callbacks and returns up to `max` records, waiting up to `timeout` for the first.
    /// Must be called regularly (at least every `max.poll.interval.ms`), or the member is dropped from the group.
    public func poll(max: Int = 1000, timeout: Duration = .zero) async throws -> [LogRecord] {
        let queue = queue, ms = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return try await KafkaHandle.blocking {
            var first = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: 1)
            var out: [LogRecord] = []
            // Wait for one, then take what is queued without waiting (consume_batch waits for all it is asked for).
            guard rd_kafka_consume_batch_queue(queue, ms, &first, 1) > 0 else { return [] }
            var rest = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: Swift.max(0, max - 1))
            let more = max > 1 ? rd_kafka_consume_batch_queue(queue, 0, &rest, max - 1) : 0
            for message in first + rest.prefix(Swift.max(0, more)) {
                guard let message else { continue }
                defer { rd_kafka_message_destroy(message) }
                guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }   // EOF and transient errors
                let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
                out.append(LogRecord(kafkaMessage: message, topic: topic, includeChain: false))
            }
            return out
        }
    }

    /// Leaves the group (its partitions are reassigned at once) and frees the handle.
    public func close() async {
        let handle = handle, queue = queue
        guard lock.withLock({ () -> Bool in defer { closed = true }; return !closed }) else { return }
        _ = try? await KafkaHandle.blocking {
            rd_kafka_queue_destroy(queue)
            _ = rd_kafka_consumer_close(handle)
            rd_kafka_destroy(handle)
        }
    }

    fileprivate func rebalanced(_ rk: OpaquePointer, _ code: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        var partitions: [TopicPartition] = []
        for i in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[i]
            partitions.append(TopicPartition(topic: String(cString: element.topic), partition: Int(element.partition)))
        }
        if code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            for i in 0..<Int(list.pointee.cnt) {
                if let offset = startOffset(partitions[i]) { list.pointee.elems[i].offset = offset }
            }
            _ = rd_kafka_assign(rk, list)
            if paused { _ = rd_kafka_pause_partitions(rk, list) }
            lock.withLock { current = Set(partitions) }
            onRebalance(.assigned(partitions))
        } else {
            _ = rd_kafka_assign(rk, nil)
            lock.withLock { current = [] }
            onRebalance(.revoked(partitions))
        }
    }
}

private let groupRebalance: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = { rk, code, list, opaque in
    guard let rk, let list, let opaque else { return }
    Unmanaged<KafkaGroupConsumer>.fromOpaque(opaque).takeUnretainedValue().rebalanced(rk, code, list)
}
