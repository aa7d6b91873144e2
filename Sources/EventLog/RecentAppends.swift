import Foundation

/// The records this process appended lately, per (topic, partition), so that its own readers (the processor reading
/// the gateway's commands, the projector, tracker and workers reading the processor's events) take them from memory
/// instead of asking the store for rows it has just written. Only for stores with dense offsets: a run read from
/// here stops at the first offset this process did not append (another writer's record, or one whose append has not
/// come back yet), and the reader asks the store from there. Every record held is committed: it is added after
/// its append returned. Only reads without the chain are served (prevHash/hash are the store's), which is also what
/// keeps verification reading the store itself.
final class RecentAppends: @unchecked Sendable {
    private struct Partition {
        var records: [Int64: LogRecord] = [:]
        /// Insertion order, for eviction (appends come back nearly in offset order).
        var order: [Int64] = []
        var head = 0
        var bytes = 0
    }

    private let lock = NSLock()
    private var partitions: [String: Partition] = [:]
    /// Per partition: enough for several full batches of every reader, small enough to bound memory
    /// (3 topics x 12 partitions x 4 MiB at most).
    let maxRecords: Int
    let maxBytes: Int

    init(maxRecords: Int = 2048, maxBytes: Int = 4 << 20) {
        self.maxRecords = maxRecords; self.maxBytes = maxBytes
    }

    private static func slot(_ topic: String, _ partition: Int) -> String { "\(topic):\(partition)" }

    func add(topic: String, partition: Int, offsets: [Int64], records: [OutgoingRecord]) {
        let slot = Self.slot(topic, partition)
        lock.withLock {
            var p = partitions[slot] ?? Partition()
            partitions[slot] = nil  // unique while mutated, so the dictionary is not copied
            for (offset, record) in zip(offsets, records) where p.records[offset] == nil {
                p.records[offset] = LogRecord(topic: topic, partition: partition, offset: offset, key: record.key, value: record.value)
                p.order.append(offset)
                p.bytes += record.key.utf8.count + record.value.utf8.count
            }
            while p.records.count > maxRecords || p.bytes > maxBytes, p.head < p.order.count {
                if let gone = p.records.removeValue(forKey: p.order[p.head]) { p.bytes -= gone.key.utf8.count + gone.value.utf8.count }
                p.head += 1
            }
            if p.head > 4096, p.head * 2 > p.order.count {
                p.order.removeFirst(p.head)
                p.head = 0
            }
            partitions[slot] = p
        }
    }

    /// The records at `from`, `from + 1`, ... that this process appended, up to `limit`; nil when it holds none at `from`.
    func read(topic: String, partition: Int, from: Int64, limit: Int) -> [LogRecord]? {
        lock.withLock {
            guard let p = partitions[Self.slot(topic, partition)], p.records[from] != nil else { return nil }
            var out: [LogRecord] = []
            var at = from
            while out.count < limit, let record = p.records[at] {
                out.append(record)
                at += 1
            }
            return out
        }
    }
}
