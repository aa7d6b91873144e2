import CRdKafka
import Foundation

/// The delivery reports of one `send`: librdkafka reports each message on the poll thread; the last report
/// resumes the caller with every offset (or the first failure).
final class DeliveryBatch: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: Int
    private var offsets: [Int64] = []
    private var failure: KafkaError?
    private var continuation: CheckedContinuation<[Int64], Error>?
    private var done = false

    init(expected: Int) {
        remaining = expected
        offsets.reserveCapacity(expected)
        done = expected == 0
    }

    func reported(offset: Int64, error: rd_kafka_resp_err_t) {
        lock.lock()
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            if failure == nil { failure = KafkaError("delivery failed", code: error) }
        } else {
            offsets.append(offset)
        }
        remaining -= 1
        finishIfDone()
    }

    /// Messages from `count` on were never enqueued.
    func abandon(_ count: Int, because error: KafkaError) {
        lock.lock()
        if failure == nil { failure = error }
        remaining -= count
        finishIfDone()
    }

    /// Called with the lock held; unlocks.
    private func finishIfDone() {
        guard remaining == 0, !done else { lock.unlock(); return }
        done = true
        let waiting = continuation
        continuation = nil
        let result = result
        lock.unlock()
        waiting?.resume(with: result)
    }

    private var result: Result<[Int64], Error> {
        if let failure { return .failure(failure) }
        // Reports of one partition arrive in produce order; sorting guards the rare out-of-order retry report.
        return .success(offsets.sorted())
    }

    func wait() async throws -> [Int64] {
        try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            if done {
                let result = result
                lock.unlock()
                continuation.resume(with: result)
            } else {
                self.continuation = continuation
                lock.unlock()
            }
        }
    }
}

private let deliveryReport: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = { _, message, _ in
    guard let message, let opaque = message.pointee._private else { return }
    // Each enqueued message holds one retain on its batch (see `send`).
    Unmanaged<DeliveryBatch>.fromOpaque(opaque).takeRetainedValue().reported(offset: message.pointee.offset, error: message.pointee.err)
}

/// A librdkafka producer: idempotent (acks=all), batched by librdkafka's linger, with delivery reports served
/// by a dedicated poll thread and resolved to the awaiting callers. With a transactional id it also runs
/// Kafka transactions; `initTransactions` fences any older producer with the same id.
public final class KafkaProducer: @unchecked Sendable {
    let handle: OpaquePointer
    public let transactionalId: String?
    private let lock = NSLock()
    private var topics: [String: OpaquePointer] = [:]
    private var running = true
    private let pollStopped = DispatchSemaphore(value: 0)
    private var closed = false

    public init(brokers: String, transactionalId: String? = nil, settings extra: [String: String] = [:]) throws {
        var settings = [
            "enable.idempotence": "true",
            "acks": "all",
            "linger.ms": "1",
            "batch.num.messages": "10000",
            "queue.buffering.max.messages": "1000000",
            // A broker that stays away fails the append instead of leaving the caller waiting for 5 minutes.
            "message.timeout.ms": "20000",
        ]
        if let transactionalId {
            settings["transactional.id"] = transactionalId
            settings["transaction.timeout.ms"] = "20000"
        }
        self.transactionalId = transactionalId
        handle = try KafkaHandle.make(RD_KAFKA_PRODUCER, brokers: brokers, settings: settings.merging(extra) { $1 }) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf, deliveryReport)
        }
        let thread = Thread { [handle, pollStopped] in
            while self.isRunning { rd_kafka_poll(handle, 50) }
            pollStopped.signal()
        }
        thread.name = "wharf-kafka-poll"
        thread.start()
    }

    private var isRunning: Bool { lock.withLock { running } }

    deinit { close() }

    /// Flushes what is queued (bounded), stops the poll thread and frees the handle.
    public func close() {
        let wasClosed = lock.withLock { () -> Bool in
            defer { closed = true; running = false }
            return closed
        }
        if wasClosed { return }
        pollStopped.wait()
        rd_kafka_flush(handle, 5000)
        lock.withLock { topics.values.forEach { rd_kafka_topic_destroy($0) }; topics = [:] }
        rd_kafka_destroy(handle)
    }

    func topicHandle(_ name: String) throws -> OpaquePointer {
        try lock.withLock {
            if let known = topics[name] { return known }
            guard let topic = rd_kafka_topic_new(handle, name, nil) else {
                throw KafkaError("cannot open topic \(name)", code: rd_kafka_last_error())
            }
            topics[name] = topic
            return topic
        }
    }

    /// Sends records to one partition and returns their offsets once every one is acknowledged by all in-sync
    /// replicas. `headers[i]` go with record i.
    public func send(topic: String, partition: Int, records: [OutgoingRecord], headers: [[(String, String)]] = []) async throws -> [Int64] {
        let batch = DeliveryBatch(expected: records.count)
        let rkt = try topicHandle(topic)
        for (index, record) in records.enumerated() {
            let opaque = Unmanaged.passRetained(batch).toOpaque()
            var code = enqueue(rkt, partition: Int32(partition), record: record, headers: index < headers.count ? headers[index] : [], opaque: opaque)
            while code == RD_KAFKA_RESP_ERR__QUEUE_FULL, !Task.isCancelled {
                // librdkafka's queue is full: let the poll thread drain delivery reports, then retry.
                try? await Task.sleep(for: .milliseconds(2))
                code = enqueue(rkt, partition: Int32(partition), record: record, headers: index < headers.count ? headers[index] : [], opaque: opaque)
            }
            if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                Unmanaged<DeliveryBatch>.fromOpaque(opaque).release()
                batch.abandon(records.count - index, because: KafkaError("cannot produce to \(topic)/\(partition)", code: code))
                break
            }
        }
        return try await batch.wait()
    }

    private func enqueue(_ rkt: OpaquePointer, partition: Int32, record: OutgoingRecord, headers: [(String, String)],
                         opaque: UnsafeMutableRawPointer) -> rd_kafka_resp_err_t {
        var key = record.key, value = record.value
        // Header names and values are copied by librdkafka; these buffers only live through the call.
        let names = headers.map { strdup($0.0)! }, values = headers.map { strdup($0.1)! }
        defer { names.forEach { free($0) }; values.forEach { free($0) } }
        return key.withUTF8 { k in
            value.withUTF8 { v in
                var vus: [rd_kafka_vu_t] = []
                vus.reserveCapacity(6 + headers.count)
                var vu = rd_kafka_vu_t()
                vu.vtype = RD_KAFKA_VTYPE_RKT; vu.u.rkt = rkt; vus.append(vu)
                vu = rd_kafka_vu_t(); vu.vtype = RD_KAFKA_VTYPE_PARTITION; vu.u.i32 = partition; vus.append(vu)
                vu = rd_kafka_vu_t(); vu.vtype = RD_KAFKA_VTYPE_KEY
                vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: k.baseAddress); vu.u.mem.size = k.count; vus.append(vu)
                vu = rd_kafka_vu_t(); vu.vtype = RD_KAFKA_VTYPE_VALUE
                vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: v.baseAddress); vu.u.mem.size = v.count; vus.append(vu)
                vu = rd_kafka_vu_t(); vu.vtype = RD_KAFKA_VTYPE_MSGFLAGS; vu.u.i = RD_KAFKA_MSG_F_COPY; vus.append(vu)
                vu = rd_kafka_vu_t(); vu.vtype = RD_KAFKA_VTYPE_OPAQUE; vu.u.ptr = opaque; vus.append(vu)
                for i in headers.indices {
                    vu = rd_kafka_vu_t(); vu.vtype = RD_KAFKA_VTYPE_HEADER
                    vu.u.header.name = UnsafePointer(names[i]); vu.u.header.val = UnsafeRawPointer(values[i])
                    vu.u.header.size = strlen(values[i]); vus.append(vu)
                }
                guard let error = rd_kafka_produceva(handle, vus, vus.count) else { return RD_KAFKA_RESP_ERR_NO_ERROR }
                let code = rd_kafka_error_code(error)
                rd_kafka_error_destroy(error)
                return code
            }
        }
    }

    // MARK: Transactions (only with a transactional id)

    /// Registers the transactional id with the broker, bumping its epoch: an older producer with the same id is
    /// fenced and its open transaction aborted.
    public func initTransactions(timeout: Duration = .seconds(30)) async throws {
        let handle = handle, ms = Int32(timeout.components.seconds * 1000)
        try await KafkaHandle.blocking {
            if let error = rd_kafka_init_transactions(handle, ms) { throw KafkaError("init_transactions", error: error) }
        }
    }

    public func beginTransaction() throws {
        if let error = rd_kafka_begin_transaction(handle) { throw KafkaError("begin_transaction", error: error) }
    }

    public func commitTransaction(timeout: Duration = .seconds(30)) async throws {
        let handle = handle, ms = Int32(timeout.components.seconds * 1000)
        try await KafkaHandle.blocking {
            if let error = rd_kafka_commit_transaction(handle, ms) { throw KafkaError("commit_transaction", error: error) }
        }
    }

    public func abortTransaction(timeout: Duration = .seconds(30)) async throws {
        let handle = handle, ms = Int32(timeout.components.seconds * 1000)
        try await KafkaHandle.blocking {
            if let error = rd_kafka_abort_transaction(handle, ms) { throw KafkaError("abort_transaction", error: error) }
        }
    }
}
