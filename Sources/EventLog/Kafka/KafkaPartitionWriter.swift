import Events
import Foundation

/// Serialises async work without actor reentrancy: one body at a time, in arrival order.
final class AsyncGate: @unchecked Sendable {
    private let lock = NSLock()
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if held { waiters.append(continuation); lock.unlock(); return }
            held = true
            lock.unlock()
            continuation.resume()
        }
    }

    private func release() {
        lock.lock()
        if waiters.isEmpty { held = false; lock.unlock(); return }
        let next = waiters.removeFirst()
        lock.unlock()
        next.resume()
    }
}

/// The writer of one partition whose appends are fenced or chained. Each append is one Kafka transaction of a
/// producer whose transactional id names the partition, so a newer writer of the partition (after a takeover)
/// fences this one: its commit fails instead of forking the history. The hash chain is computed here, from the
/// last committed record, and travels in record headers.
final class KafkaPartitionWriter: @unchecked Sendable {
    let topic: String
    let physicalTopic: String
    let partition: Int
    let chained: Bool
    private let transactionalId: String
    private let brokers: String
    private let gate = AsyncGate()
    private var producer: KafkaProducer?
    /// The last committed record (offset -1 in an empty partition) and the high watermark right after our commit.
    private var head: (offset: Int64, hash: String, end: Int64)?

    init(topic: String, physicalTopic: String, partition: Int, chained: Bool, brokers: String) {
        self.topic = topic; self.physicalTopic = physicalTopic; self.partition = partition; self.chained = chained
        self.brokers = brokers
        transactionalId = "wharf-writer-\(physicalTopic)-\(partition)"
    }

    func close() {
        producer?.close()
        producer = nil
    }

    func append(_ records: [OutgoingRecord], expectedNextOffset: Int64?, log: KafkaEventLog) async throws -> [Int64] {
        try await gate.run {
            let producer = try await self.ready()
            // Someone else may have appended since our last commit (another writer that does not fence, or one we
            // have not been fenced by yet): re-read the head when the end moved.
            let end = try await log.admin.watermarks(topic: self.physicalTopic, partition: self.partition).high
            if self.head == nil || self.head!.end != end {
                let last = try await log.lastRecord(topic: self.topic, partition: self.partition)
                self.head = (last.offset, last.hash ?? HashChain.genesis, end)
            }
            let head = self.head!
            if let expectedNextOffset, expectedNextOffset != head.offset + 1 {
                throw EventLogError.offsetMismatch(topic: self.topic, partition: self.partition, expected: expectedNextOffset, actual: head.offset + 1)
            }
            var headers: [[(String, String)]] = []
            var previous = head.hash
            if self.chained {
                headers.reserveCapacity(records.count)
                for record in records {
                    let hash = HashChain.next(previous: previous, value: record.value)
                    headers.append([(KafkaEventLog.prevHashHeader, previous), (KafkaEventLog.hashHeader, hash)])
                    previous = hash
                }
            }
            do {
                try producer.beginTransaction()
                let offsets: [Int64]
                do {
                    offsets = try await producer.send(topic: self.physicalTopic, partition: self.partition, records: records, headers: headers)
                    try await Self.commit(producer)
                } catch let error as KafkaError where error.requiresAbort && !error.fatal {
                    // Abortable: abort now so the partition's last stable offset moves on for read_committed readers.
                    try await producer.abortTransaction()
                    self.head = nil
                    throw error
                }
                // One data batch and its commit marker: the end is one past the marker unless someone interleaved,
                // in which case the next append re-reads the head.
                self.head = (offsets.last ?? head.offset, previous, (offsets.last ?? head.offset) + 2)
                return offsets
            } catch let error as KafkaError where error.requiresAbort && !error.fatal {
                throw error
            } catch {
                // The transaction's fate is unclear: start over with a fresh producer, whose init aborts what we
                // left open (or tells us we were fenced).
                await Self.close(producer)
                self.producer = nil
                self.head = nil
                if let kafka = error as? KafkaError, kafka.fenced {
                    throw EventLogError.fenced(topic: self.topic, partition: self.partition)
                }
                throw error
            }
        }
    }

    /// A commit that timed out may still complete: librdkafka allows retrying the same call.
    private static func commit(_ producer: KafkaProducer) async throws {
        var attempts = 0
        while true {
            do {
                try await producer.commitTransaction()
                return
            } catch let error as KafkaError where error.retriable && attempts < 3 {
                attempts += 1
            }
        }
    }

    /// Closing flushes and joins librdkafka threads: not on Swift's cooperative threads.
    private static func close(_ producer: KafkaProducer) async {
        _ = try? await KafkaHandle.blocking { producer.close() }
    }

    private func ready() async throws -> KafkaProducer {
        if let producer { return producer }
        let made = try KafkaProducer(brokers: brokers, transactionalId: transactionalId)
        do {
            try await made.initTransactions()
        } catch {
            await Self.close(made)
            throw error
        }
        producer = made
        head = nil
        return made
    }
}
