import Foundation

/// What this process's partition consumers are doing: which partitions each group owns, how far each has read,
/// and which it stopped on (`PartitionHalted`) and why. Written by the consumer loops, read by /healthz,
/// /metrics, the command gateway and the status reporter; halts seen by other processes are merged in by the
/// reporter, so every process answers for the whole installation.
public final class PartitionHealth: @unchecked Sendable {
    public struct Key: Hashable, Sendable, Comparable {
        public var group: String
        public var partition: Int
        public init(group: String, partition: Int) { self.group = group; self.partition = partition }
        public static func < (a: Key, b: Key) -> Bool { (a.group, a.partition) < (b.group, b.partition) }
    }

    public struct Entry: Sendable, Hashable {
        public var topic: String
        public var owned: Bool
        /// The next offset the consumer will read (its position).
        public var next: Int64
        public var halted: String?
    }

    /// A halt reported by another process (or by this one through the shared table).
    public struct RemoteHalt: Sendable, Hashable {
        public var process: String
        public var topic: String
        public var reason: String
        public init(process: String, topic: String, reason: String) { self.process = process; self.topic = topic; self.reason = reason }
    }

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    private var remote: [Key: RemoteHalt] = [:]

    public init() {}

    public var snapshot: [Key: Entry] { lock.withLock { entries } }

    func consuming(group: String, topic: String, partition: Int, next: Int64) {
        lock.withLock { entries[Key(group: group, partition: partition)] = Entry(topic: topic, owned: true, next: next, halted: nil) }
    }

    func advanced(group: String, partition: Int, to next: Int64) {
        lock.withLock { entries[Key(group: group, partition: partition)]?.next = next }
    }

    func lost(group: String, partition: Int) {
        lock.withLock {
            let key = Key(group: group, partition: partition)
            if entries[key]?.halted == nil { entries[key] = nil } else { entries[key]?.owned = false }
        }
    }

    func halt(group: String, topic: String, partition: Int, reason: String) {
        lock.withLock {
            let key = Key(group: group, partition: partition)
            var entry = entries[key] ?? Entry(topic: topic, owned: false, next: 0, halted: nil)
            entry.halted = reason
            entry.owned = false
            entries[key] = entry
        }
    }

    /// Replaces the halts other processes report (the reporter calls this every round).
    public func setRemoteHalts(_ halts: [Key: RemoteHalt]) { lock.withLock { remote = halts } }

    /// Every halt known here, this process's and the others', by group and partition.
    public var halts: [Key: (topic: String, reason: String, process: String?)] {
        lock.withLock {
            var out: [Key: (topic: String, reason: String, process: String?)] = [:]
            for (key, r) in remote { out[key] = (r.topic, r.reason, r.process) }
            for (key, e) in entries { if let reason = e.halted { out[key] = (e.topic, reason, nil) } }
            return out
        }
    }

    /// Why `group` stopped on `partition`, if it did (here or in another process).
    public func haltReason(group: String, partition: Int) -> String? {
        let key = Key(group: group, partition: partition)
        return lock.withLock { entries[key]?.halted ?? remote[key]?.reason }
    }
}
