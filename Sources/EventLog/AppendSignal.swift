import Foundation

/// Wakes tasks waiting for new records of a (topic, partition). Fed by LISTEN/NOTIFY (Postgres) or by the
/// local writer; waiters always have a timeout so that a missed wake-up only costs latency, never progress.
public final class AppendSignal: @unchecked Sendable {
    private struct Waiter {
        let offset: Int64
        let continuation: CheckedContinuation<Void, Never>
    }

    private let lock = NSLock()
    private var knownEnd: [String: Int64] = [:]
    private var waiters: [String: [UUID: Waiter]] = [:]
    /// Waits whose timeout fired before they registered (so registration must not park them).
    private var abandoned: Set<UUID> = []

    public init() {}

    private static func slot(_ topic: String, _ partition: Int) -> String { "\(topic):\(partition)" }

    /// Records that (topic, partition) has records up to `end` (exclusive) and wakes waiters below it.
    public func appended(topic: String, partition: Int, end: Int64) {
        let slot = Self.slot(topic, partition)
        var ready: [CheckedContinuation<Void, Never>] = []
        lock.lock()
        knownEnd[slot] = max(knownEnd[slot] ?? 0, end)
        if var slotWaiters = waiters[slot] {
            for (id, waiter) in slotWaiters where waiter.offset < end {
                ready.append(waiter.continuation)
                slotWaiters[id] = nil
            }
            waiters[slot] = slotWaiters
        }
        lock.unlock()
        ready.forEach { $0.resume() }
    }

    /// The end (exclusive) last reported for (topic, partition), 0 when none was.
    public func knownEnd(topic: String, partition: Int) -> Int64 {
        lock.withLock { knownEnd[Self.slot(topic, partition)] ?? 0 }
    }

    /// Wakes every waiter (e.g. after a lost notification connection, when anything may have been missed).
    public func wakeAll() {
        lock.lock()
        let all = waiters.values.flatMap { $0.values.map(\.continuation) }
        waiters.removeAll()
        lock.unlock()
        all.forEach { $0.resume() }
    }

    public func wait(topic: String, partition: Int, from offset: Int64, timeout: Duration) async {
        let slot = Self.slot(topic, partition)
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    self.lock.lock()
                    if (self.knownEnd[slot] ?? 0) > offset || self.abandoned.remove(id) != nil {
                        self.lock.unlock()
                        continuation.resume()
                        return
                    }
                    self.waiters[slot, default: [:]][id] = Waiter(offset: offset, continuation: continuation)
                    self.lock.unlock()
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.cancel(slot: slot, id: id)
            }
            await group.next()
            group.cancelAll()
            self.cancel(slot: slot, id: id)
        }
        _ = lock.withLock { abandoned.remove(id) }
    }

    private func cancel(slot: String, id: UUID) {
        lock.lock()
        let waiter = waiters[slot]?.removeValue(forKey: id)
        if waiter == nil { abandoned.insert(id) }
        lock.unlock()
        waiter?.continuation.resume()
    }
}
