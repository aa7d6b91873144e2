import EventLog
import Events
import Foundation

/// Group commit of the gateway's command appends. While one append is in flight, the commands that arrive queue;
/// when it returns, all of them go in one `appendEach` (Postgres: one transaction over their partitions, one WAL
/// flush). No linger: a lone write goes at once, and a group forms only from writes that would have waited anyway.
/// Before this, every write was its own commit holding its partition's row lock through the flush, so concurrent
/// writes to a partition queued one flush each.
final class CommandGroupCommit: @unchecked Sendable {
    private struct Pending {
        let partition: Int
        let record: OutgoingRecord
        let continuation: CheckedContinuation<Int64, Error>
    }

    private let log: any EventLog
    private let lock = NSLock()
    private var pending: [Pending] = []
    private var flushing = false
    /// Records per append, for `wharf bench http --trace`.
    private var stats: (appends: Int, records: Int) = (0, 0)
    /// The most commands one append carries; the rest go in the next.
    let maxGroup: Int

    init(log: any EventLog, maxGroup: Int = 1000) {
        self.log = log; self.maxGroup = maxGroup
    }

    /// Appends `record` to `partition` of the commands topic; returns its offset once committed.
    func append(_ record: OutgoingRecord, partition: Int) async throws -> Int64 {
        try await withCheckedThrowingContinuation { continuation in
            let lead: Bool = lock.withLock {
                pending.append(Pending(partition: partition, record: record, continuation: continuation))
                if flushing { return false }
                flushing = true
                return true
            }
            if lead { Task { await self.flush() } }
        }
    }

    /// (appends, records) since the last call.
    func drainStats() -> (appends: Int, records: Int) {
        lock.withLock { defer { stats = (0, 0) }; return stats }
    }

    private func flush() async {
        while true {
            let group: [Pending] = lock.withLock {
                let taken = Array(pending.prefix(maxGroup))
                pending.removeFirst(taken.count)
                if taken.isEmpty { flushing = false }
                return taken
            }
            if group.isEmpty { return }
            // One batch per partition, in arrival order within it.
            var byPartition: [Int: [Int]] = [:]
            for (i, p) in group.enumerated() { byPartition[p.partition, default: []].append(i) }
            let partitions = byPartition.keys.sorted()
            let batches = partitions.map { p in (partition: p, records: byPartition[p]!.map { group[$0].record }) }
            do {
                let appended = try await log.appendEach(topic: Topics.commands, batches: batches)
                lock.withLock { stats.appends += 1; stats.records += group.count }
                for (k, p) in partitions.enumerated() {
                    for (j, i) in byPartition[p]!.enumerated() { group[i].continuation.resume(returning: appended[k].offsets[j]) }
                }
            } catch {
                group.forEach { $0.continuation.resume(throwing: error) }
            }
        }
    }
}
