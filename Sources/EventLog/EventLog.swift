import Events

/// A stored record of a topic partition.
public struct LogRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int
    public var offset: Int64
    public var key: String
    /// Canonical JSON text of the envelope; these exact bytes are hashed into the chain.
    public var value: String
    /// Hex SHA-256 of the previous record in the partition's chain (nil on unchained topics).
    public var prevHash: String?
    public var hash: String?

    public init(topic: String, partition: Int, offset: Int64, key: String, value: String, prevHash: String? = nil, hash: String? = nil) {
        self.topic = topic; self.partition = partition; self.offset = offset
        self.key = key; self.value = value; self.prevHash = prevHash; self.hash = hash
    }

    public var position: LogPosition { LogPosition(partition: partition, offset: offset) }
}

/// A record to append: key and canonical value.
public struct OutgoingRecord: Sendable, Hashable {
    public var key: String
    public var value: String
    public init(key: String, value: String) { self.key = key; self.value = value }
}

public struct TopicSpec: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    /// Chained topics carry the tamper-evidence hash chain (see HashChain).
    public var chained: Bool
    /// The topic's records are a deterministic function of another topic (events of commands, checkpoints of
    /// events), so an append may be acknowledged before it reaches disk: after a crash the writer derives the
    /// same records again. The source topic itself is always flushed before an append returns.
    public var derived: Bool
    public init(name: String, partitions: Int, chained: Bool, derived: Bool = false) {
        self.name = name; self.partitions = partitions; self.chained = chained; self.derived = derived
    }

    public static func spine(partitions: Int) -> [TopicSpec] {
        [TopicSpec(name: Topics.commands, partitions: partitions, chained: false),
         TopicSpec(name: Topics.events, partitions: partitions, chained: true, derived: true),
         TopicSpec(name: Topics.checkpoints, partitions: partitions, chained: false, derived: true)]
    }
}

public enum EventLogError: Error, CustomStringConvertible, Equatable {
    case unknownPartition(topic: String, partition: Int)
    /// The partition moved on under us: another writer owns it now (fencing).
    case offsetMismatch(topic: String, partition: Int, expected: Int64, actual: Int64)
    case partitionCountMismatch(topic: String, existing: Int, requested: Int)
    /// A newer writer of the partition fenced this one (Kafka: same transactional id, higher epoch).
    case fenced(topic: String, partition: Int)

    public var description: String {
        switch self {
        case .unknownPartition(let t, let p): "topic \(t) has no partition \(p)"
        case .offsetMismatch(let t, let p, let e, let a):
            "partition \(t)/\(p) is at offset \(a), writer expected \(e): another writer has taken the partition over"
        case .partitionCountMismatch(let t, let e, let r):
            "topic \(t) exists with \(e) partitions but \(r) were configured; partition counts cannot change because keys would move"
        case .fenced(let t, let p):
            "partition \(t)/\(p) has a newer writer: this one was fenced and its append was not committed"
        }
    }
}

/// The offsets an append got, one per record, increasing.
public struct Appended: Sendable, Hashable {
    public var offsets: [Int64]
    public init(offsets: [Int64]) { self.offsets = offsets }
    public var first: Int64 { offsets.first ?? -1 }
    public var last: Int64 { offsets.last ?? -1 }
}

/// The log contract. Offsets increase in commit order within a partition, so a reader that asks for
/// `offset >= n` never skips a record that committed late. Readers continue from `last.offset + 1` and never
/// count offsets: Kafka spends offsets on transaction markers (`denseOffsets` is false there).
public protocol EventLog: Sendable {
    /// Whether offsets are dense (0, 1, 2, ... with no holes): true for the Postgres log, false for Kafka.
    /// Where they are, a hole means a removed record.
    var denseOffsets: Bool { get }

    /// Creates missing topics; fails when an existing topic has a different partition count.
    func ensureTopics(_ topics: [TopicSpec]) async throws
    func partitionCount(topic: String) async throws -> Int

    /// Appends records to one partition and returns their offsets. Atomic on Postgres, and on Kafka for fenced or
    /// chained appends (one transaction); a failed plain multi-record append on Kafka may have delivered a prefix
    /// (Wharf's plain appends, commands and checkpoints, are single records).
    /// With `expectedNextOffset`, the append fails with `offsetMismatch` unless the partition is exactly there:
    /// the single writer of a partition uses it as a fencing token.
    @discardableResult
    func append(topic: String, partition: Int, records: [OutgoingRecord], expectedNextOffset: Int64?) async throws -> Appended

    /// Unfenced appends to several partitions of `topic`, each batch's records in order; the offsets per batch, in
    /// the order given. A partition may appear once. Postgres commits them in one transaction (one WAL flush for
    /// all: the gateway's group commit); the default appends the batches concurrently, each on its own.
    func appendEach(topic: String, batches: [(partition: Int, records: [OutgoingRecord])]) async throws -> [Appended]

    /// Up to `limit` records at or after `offset`, in offset order. Without `includeChain` the records come
    /// without prevHash/hash (readers that only project save the transfer).
    func read(topic: String, partition: Int, from offset: Int64, limit: Int, includeChain: Bool) async throws -> [LogRecord]

    /// `readTowardsEnd` with the chain, packed for the verifier (which reads every record of the log). Stores that
    /// can pack on their side implement it; the default packs what `readTowardsEnd` returns.
    func readChain(topic: String, partition: Int, from offset: Int64, limit: Int) async throws -> ChainBatch

    /// An offset past every committed record; the next append gets this offset or a later one (with dense
    /// offsets: exactly this one, the number of records).
    func endOffset(topic: String, partition: Int) async throws -> Int64

    /// `endOffset` of every partition of the topic, by partition (one round trip where the store allows).
    func endOffsets(topic: String) async throws -> [Int64]

    /// Returns when the partition may have records at or after `offset`, or after `timeout`.
    func waitForRecords(topic: String, partition: Int, from offset: Int64, timeout: Duration) async

    /// Partition ownership for a consumer group: at most one live owner per (group, partition).
    func makeOwnership(group: String) async throws -> any PartitionOwnership

    /// Calls `handler` with every append this process makes, once it is committed (a shortcut for in-process
    /// readers that would otherwise read the records back; they must still read the log for other writers).
    func onLocalAppend(_ handler: @escaping @Sendable (LocalAppend) -> Void)
}

public struct LocalAppend: Sendable {
    public var topic: String
    public var partition: Int
    /// One per record.
    public var offsets: [Int64]
    public var records: [OutgoingRecord]
    public init(topic: String, partition: Int, offsets: [Int64], records: [OutgoingRecord]) {
        self.topic = topic; self.partition = partition; self.offsets = offsets; self.records = records
    }
}

extension EventLog {
    public func appendEach(topic: String, batches: [(partition: Int, records: [OutgoingRecord])]) async throws -> [Appended] {
        try await withThrowingTaskGroup(of: (Int, Appended).self) { group in
            for (i, batch) in batches.enumerated() {
                group.addTask { (i, try await self.append(topic: topic, partition: batch.partition, records: batch.records, expectedNextOffset: nil)) }
            }
            var out = [Appended](repeating: Appended(offsets: []), count: batches.count)
            for try await (i, appended) in group { out[i] = appended }
            return out
        }
    }

    public func read(topic: String, partition: Int, from offset: Int64, limit: Int) async throws -> [LogRecord] {
        try await read(topic: topic, partition: partition, from: offset, limit: limit, includeChain: true)
    }

    /// A read for walking a partition to its end: an empty answer is believed only at the end. On Kafka a read may
    /// come back empty while records are still being fetched (under load, or while a transaction is open), and
    /// offsets end with a commit marker, so an empty read short of the last two offsets is asked again for a while.
    public func readTowardsEnd(topic: String, partition: Int, from offset: Int64, limit: Int, includeChain: Bool = true) async throws -> [LogRecord] {
        var batch = try await read(topic: topic, partition: partition, from: offset, limit: limit, includeChain: includeChain)
        var tries = 0
        while batch.isEmpty, !denseOffsets, tries < 20, offset < (try await endOffset(topic: topic, partition: partition)) - 1 {
            try await Task.sleep(for: .milliseconds(100))
            batch = try await read(topic: topic, partition: partition, from: offset, limit: limit, includeChain: includeChain)
            tries += 1
        }
        return batch
    }

    public func endOffsets(topic: String) async throws -> [Int64] {
        var ends: [Int64] = []
        for p in 0..<(try await partitionCount(topic: topic)) { ends.append(try await endOffset(topic: topic, partition: p)) }
        return ends
    }

    public func readChain(topic: String, partition: Int, from offset: Int64, limit: Int) async throws -> ChainBatch {
        try ChainBatch(records: try await readTowardsEnd(topic: topic, partition: partition, from: offset, limit: limit))
    }

    /// The checkpoints of partition `partition` of `topic`, in the order stored, read from offset `from` of the
    /// checkpoints topic on, and the checkpoints offset to continue from.
    public func checkpoints(of topic: String, partition: Int, from: Int64 = 0) async throws -> (checkpoints: [Checkpoint], next: Int64) {
        try await checkpoints(of: [topic], partition: partition, from: from)
    }

    /// The checkpoints of partition `partition` of any of `topics`, in one pass over the checkpoints partition.
    public func checkpoints(of topics: [String], partition: Int, from: Int64 = 0) async throws -> (checkpoints: [Checkpoint], next: Int64) {
        var out: [Checkpoint] = []
        var at = from
        let keys = Set(topics.map { Checkpoint.key(topic: $0, partition: partition) })
        while true {
            let batch = try await readTowardsEnd(topic: Topics.checkpoints, partition: partition, from: at, limit: 5000)
            guard let last = batch.last else { return (out, at) }
            for record in batch where keys.contains(record.key) {
                out.append(try CanonicalJSON.decode(Checkpoint.self, from: record.value))
            }
            at = last.offset + 1
        }
    }

    @discardableResult
    public func append(topic: String, partition: Int, records: [OutgoingRecord]) async throws -> Appended {
        try await append(topic: topic, partition: partition, records: records, expectedNextOffset: nil)
    }
}

/// A group member's claim on partitions. Claims end when the member's process or connection dies,
/// so another member takes over.
public protocol PartitionOwnership: Sendable {
    /// Tries to own more of `candidates`; returns the partitions owned after the attempt.
    /// A partition missing from the result (that was owned before) has been lost.
    func claim(_ candidates: [Int]) async throws -> Set<Int>
    /// Lets go of some partitions (a halted one, so that the operator sees it unowned) and keeps the rest.
    func release(partitions: [Int]) async
    func release() async
}
