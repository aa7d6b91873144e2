import Foundation

/// Wakes tasks waiting for new records of a (topic, partition). Fed by LISTEN/NOTIFY (Postgres) or by the
/// local writer; waiters always have a timeout so that a missed wake-up only costs latency, never progress.
///
/// A wait is one parked continuation with a deadline. Deadlines are kept by one sweeper task per signal that looks
/// every `sweepEvery`, so a timeout fires up to that much late: every consumer waits once per batch, and a task
/// group with a sleeping child per wait (the first version) cost more CPU than the read it waited for.
public final class AppendSignal: @unchecked Sendable {
    private struct Waiter {
        let offset: Int64
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Void, Never>
    }

    private let lock = NSLock()
    private var knownEnd: [String: Int64] = [:]
    private var waiters: [String: [UInt64: Waiter]] = [:]
    private var nextId: UInt64 = 0
    /// Waits cancelled before they parked (so parking must not happen).
    private var cancelledEarly: Set<UInt64> = []
    private var sweeper: Task<Void, Never>?
    private let sweepEvery: Duration

    public init(sweepEvery: Duration = .milliseconds(10)) {
        self.sweepEvery = sweepEvery
    }

    deinit { sweeper?.cancel() }

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

    /// Returns when (topic, partition) is known to have records at or after `offset`, after `timeout`, or when the
    /// calling task is cancelled.
    public func wait(topic: String, partition: Int, from offset: Int64, timeout: Duration) async {
        let slot = Self.slot(topic, partition)
        let deadline = ContinuousClock.now + timeout
        let id: UInt64 = lock.withLock {
            nextId += 1
            if sweeper == nil { startSweeper() }
            return nextId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                lock.lock()
                if (knownEnd[slot] ?? 0) > offset || cancelledEarly.remove(id) != nil || Task.isCancelled {
                    lock.unlock()
                    continuation.resume()
                    return
                }
                waiters[slot, default: [:]][id] = Waiter(offset: offset, deadline: deadline, continuation: continuation)
                lock.unlock()
            }
        } onCancel: {
            lock.lock()
            let waiter = waiters[slot]?.removeValue(forKey: id)
            if waiter == nil { cancelledEarly.insert(id) }
            lock.unlock()
            waiter?.continuation.resume()
        }
        _ = lock.withLock { cancelledEarly.remove(id) }
    }

    /// Called with the lock held. The task holds the signal weakly, so a dropped signal stops it.
    private func startSweeper() {
        let every = sweepEvery
        sweeper = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: every)
                guard let self else { return }
                self.resumeExpired(now: .now)
            }
        }
    }

    private func resumeExpired(now: ContinuousClock.Instant) {
        var expired: [CheckedContinuation<Void, Never>] = []
        lock.lock()
        for (slot, slotWaiters) in waiters {
            var kept = slotWaiters
            for (id, waiter) in slotWaiters where waiter.deadline <= now {
                expired.append(waiter.continuation)
                kept[id] = nil
            }
            if kept.count != slotWaiters.count { waiters[slot] = kept.isEmpty ? nil : kept }
        }
        lock.unlock()
        expired.forEach { $0.resume() }
    }
}
