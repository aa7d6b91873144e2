import Events
import Foundation
import Logging

/// One consumer of one partition, owned by the partition's task (no sharing, so no locking inside).
public protocol PartitionWorker: AnyObject {
    /// Called when the partition is (re)assigned: load state, return the offset to consume from.
    func start() async throws -> Int64
    /// Handles a batch; the worker stores its checkpoint atomically with its effects. It may leave the batch's
    /// effect in flight while the next batch is read, as long as `idle` finishes it.
    func handle(_ records: [LogRecord]) async throws
    /// Called when caught up, before waiting for records: finish work still in flight and report its failure.
    func idle() async throws
}

extension PartitionWorker {
    public func idle() async throws {}
}

/// A worker throws this when continuing would build on a history it cannot trust (broken chain, offsets
/// going backwards). The partition stops instead of being retried.
public struct PartitionHalted: Error, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The one partition-owning consumer loop that the command processor, projectors and workers all use.
/// It claims partitions for a group, runs one task per owned partition (start, then read batches and hand
/// them over, waiting for appends when caught up) and stops a partition's task when ownership is lost.
/// A failing batch is retried from the worker's own checkpoint after a backoff.
public final class PartitionConsumer: @unchecked Sendable {
    public let log: any EventLog
    public let topic: String
    /// nil: no group, every partition (a tail reader that decides nothing).
    public let group: String?
    public let batchSize: Int
    public let claimInterval: Duration
    /// Whether workers need prevHash/hash on the records they get.
    public let includeChain: Bool
    private let makeWorker: @Sendable (Int) -> any PartitionWorker
    private let health: PartitionHealth
    private let logger: Logger
    private let haltLock = NSLock()
    private var haltReasons: [Int: String] = [:]

    /// Partitions this consumer stopped on, with the reason (see `PartitionHalted`).
    public var halted: [Int: String] { haltLock.withLock { haltReasons } }

    /// `health`: where the loop reports ownership, position and halts (the runtime shares one across its consumers).
    public init(log: any EventLog, topic: String, group: String?, batchSize: Int = 500, claimInterval: Duration = .seconds(1),
                includeChain: Bool = true, health: PartitionHealth = PartitionHealth(), logger: Logger,
                makeWorker: @escaping @Sendable (Int) -> any PartitionWorker) {
        self.log = log; self.topic = topic; self.group = group; self.batchSize = batchSize; self.includeChain = includeChain
        self.claimInterval = claimInterval; self.health = health; self.logger = logger; self.makeWorker = makeWorker
    }

    /// Tail readers (no group) report under this name.
    public var healthGroup: String { group ?? "tail:\(topic)" }

    /// Runs until cancelled.
    public func run() async throws {
        let partitions = Array(0..<(try await log.partitionCount(topic: topic)))
        var ownership: (any PartitionOwnership)? = nil
        if let group { ownership = try await log.makeOwnership(group: group) }
        var tasks: [Int: Task<Void, Never>] = [:]
        defer { tasks.values.forEach { $0.cancel() } }
        var delay = claimInterval
        while !Task.isCancelled {
            // A halted partition is neither kept nor claimed again here: its lock goes back, so the status shows it
            // unowned and with the reason, until an operator has mended the log and restarted.
            let stopped = Set(halted.keys)
            let candidates = partitions.filter { !stopped.contains($0) }
            var owned = Set(candidates)
            if let ownership {
                do {
                    if !stopped.isEmpty { await ownership.release(partitions: Array(stopped)) }
                    owned = try await ownership.claim(candidates)
                    delay = claimInterval
                } catch {
                    logger.warning("\(group ?? "-"): cannot claim partitions of \(topic); retrying", metadata: ["error": "\(error)"])
                    owned = []
                    delay = min(delay * 2, .seconds(10))
                }
            }
            for (p, task) in tasks where !owned.contains(p) {
                if !stopped.contains(p) { logger.info("\(group ?? "-"): lost \(topic)/\(p)") }
                task.cancel()
                // Wait for its batch to end, so that a later claim never runs two workers on one partition.
                await task.value
                tasks[p] = nil
                health.lost(group: healthGroup, partition: p)
            }
            for p in owned.sorted() where tasks[p] == nil && !stopped.contains(p) {
                logger.debug("\(group ?? "-"): consuming \(topic)/\(p)")
                tasks[p] = Task { await self.consume(partition: p) }
            }
            try? await Task.sleep(for: delay)
        }
        tasks.values.forEach { $0.cancel() }
        for task in tasks.values { await task.value }
        for p in tasks.keys { health.lost(group: healthGroup, partition: p) }
        await ownership?.release()
    }

    /// The worker has seen records up to `next`; a log that now ends before that has lost records (e.g. a
    /// memory-only broker restarted) and any new records would be a different history.
    /// A broker may answer one end query from stale state, so the loss must hold over three looks a second apart.
    private func requireHistory(partition: Int, through next: Int64) async throws {
        var end = try await log.endOffset(topic: topic, partition: partition)
        for _ in 0..<2 where end < next {
            try await Task.sleep(for: .seconds(1))
            end = try await log.endOffset(topic: topic, partition: partition)
        }
        if end < next {
            throw PartitionHalted("\(topic)/\(partition) ends at offset \(end) but this consumer has already seen records up to \(next): "
                                  + "the log lost records (was the broker's storage reset?); restore the log or rebuild from it before resuming")
        }
    }

    private func consume(partition: Int) async {
        var backoff = Duration.milliseconds(200)
        while !Task.isCancelled {
            let worker = makeWorker(partition)
            do {
                var next = try await worker.start()
                health.consuming(group: healthGroup, topic: topic, partition: partition, next: next)
                try await requireHistory(partition: partition, through: next)
                var lastHistoryCheck = ContinuousClock.now
                func caughtUp() async throws {
                    try await worker.idle()
                    if ContinuousClock.now - lastHistoryCheck > .seconds(5) {
                        try await requireHistory(partition: partition, through: next)
                        lastHistoryCheck = .now
                    }
                    await log.waitForRecords(topic: topic, partition: partition, from: next, timeout: .seconds(1))
                }
                while !Task.isCancelled {
                    let records = try await log.read(topic: topic, partition: partition, from: next, limit: batchSize, includeChain: includeChain)
                    guard let last = records.last else {
                        try await caughtUp()
                        continue
                    }
                    try await worker.handle(records)
                    next = last.offset + 1
                    health.advanced(group: healthGroup, partition: partition, to: next)
                    backoff = .milliseconds(200)
                    // A short batch was everything there was: wait rather than ask again at once (a read that finds
                    // nothing cost as much as one that finds a record). The wait returns at once when more arrived.
                    if records.count < batchSize { try await caughtUp() }
                }
            } catch let halted as PartitionHalted {
                logger.error("\(group ?? "-"): stopped consuming \(topic)/\(partition): \(halted.reason)")
                haltLock.withLock { haltReasons[partition] = halted.reason }
                health.halt(group: healthGroup, topic: topic, partition: partition, reason: halted.reason)
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("\(group ?? "-"): \(topic)/\(partition) failed; restarting from its checkpoint in \(backoff)",
                               metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }
}
