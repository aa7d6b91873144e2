import EventLog
import Events
import Foundation
import Logging

/// The events a command produced, with their positions in the events topic.
public struct CommandOutcome: Sendable {
    public var events: [(envelope: EventEnvelope, record: LogRecord)]

    public var rejection: CommandRejected? {
        for e in events { if case .commandRejected(let r) = e.envelope.event { return r } }
        return nil
    }
    public var position: LogPosition? { events.last?.record.position }
}

/// Tails the events topic (every partition, from where it was at start-up) and hands each command's events to
/// the HTTP request waiting for them. Works the same whichever process decided the command.
public final class OutcomeTracker: @unchecked Sendable {
    private enum Slot {
        case waiting(CheckedContinuation<CommandOutcome?, Never>?)
        case arrived(CommandOutcome)
    }

    private let lock = NSLock()
    private var slots: [String: Slot] = [:]

    public init() {}

    /// Call before appending the command, so its events cannot slip past.
    public func expect(_ commandId: String) {
        lock.withLock { slots[commandId] = .waiting(nil) }
    }

    public func forget(_ commandId: String) {
        let slot = lock.withLock { slots.removeValue(forKey: commandId) }
        if case .waiting(let c?)? = slot { c.resume(returning: nil) }
    }

    func deliver(_ commandId: String, _ outcome: CommandOutcome) {
        let continuation: CheckedContinuation<CommandOutcome?, Never>? = lock.withLock {
            guard case .waiting(let c)? = slots[commandId] else { return nil }
            if let c {
                slots[commandId] = nil
                return c
            }
            slots[commandId] = .arrived(outcome)
            return nil
        }
        continuation?.resume(returning: outcome)
    }

    /// Waits for an expected command's events; nil after `timeout`.
    public func wait(_ commandId: String, timeout: Duration) async -> CommandOutcome? {
        await withTaskGroup(of: CommandOutcome?.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<CommandOutcome?, Never>) in
                    let ready: CommandOutcome?? = self.lock.withLock {
                        switch self.slots[commandId] {
                        case .arrived(let outcome)?:
                            self.slots[commandId] = nil
                            return .some(outcome)
                        case .waiting?:
                            self.slots[commandId] = .waiting(c)
                            return .none
                        case nil:
                            return .some(nil)  // forgotten (timed out) already
                        }
                    }
                    if let ready { c.resume(returning: ready) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.forget(commandId)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            self.forget(commandId)
            return first
        }
    }

    /// The tail reader: no group, every partition, starting at the end.
    public func consumer(log: any EventLog, logger: Logger) -> PartitionConsumer {
        PartitionConsumer(log: log, topic: Topics.events, group: nil, batchSize: 1000, logger: logger) { p in
            TrackerPartition(log: log, partition: p, tracker: self)
        }
    }
}

private final class TrackerPartition: PartitionWorker {
    let log: any EventLog, partition: Int, tracker: OutcomeTracker
    init(log: any EventLog, partition: Int, tracker: OutcomeTracker) { self.log = log; self.partition = partition; self.tracker = tracker }

    func start() async throws -> Int64 {
        try await log.endOffset(topic: Topics.events, partition: partition)
    }

    func handle(_ records: [LogRecord]) async throws {
        var grouped: [String: CommandOutcome] = [:]
        var order: [String] = []
        for record in records {
            guard let envelope = try? CanonicalJSON.decode(EventEnvelope.self, from: record.value) else { continue }
            if grouped[envelope.commandId] == nil { order.append(envelope.commandId); grouped[envelope.commandId] = CommandOutcome(events: []) }
            grouped[envelope.commandId]!.events.append((envelope, record))
        }
        for id in order { tracker.deliver(id, grouped[id]!) }
    }
}
