import EventLog
import Events
import Foundation
import Logging

/// The events a command produced, with their positions in the events topic.
public struct CommandOutcome: Sendable {
    public var events: [(envelope: EventEnvelope, record: LogRecord)]

    /// Accepted, unchanged or rejected, by the command's events.
    public var kind: WriteResult.Kind {
        for e in events {
            if let r = e.envelope.event.as(CommandRejected.self) { return .rejected(r) }
            if let u = e.envelope.event.as(CommandUnchanged.self) { return .unchanged(u) }
        }
        return .accepted
    }
    public var position: LogPosition? { events.last?.record.position }
}

/// Tails the events topic (every partition, from where it was at start-up) and hands each command's events to
/// the HTTP requests waiting for them. Works the same whichever process decided the command. Several requests
/// may wait for the same command id (a retry racing its original); each gets its own ticket.
public final class OutcomeTracker: @unchecked Sendable {
    public struct Ticket: Hashable, Sendable {
        let commandId: String
        let id = UUID()
    }

    private enum Slot {
        case waiting(CheckedContinuation<CommandOutcome?, Never>?)
        case arrived(CommandOutcome)
    }

    private let lock = NSLock()
    private var slots: [String: [UUID: Slot]] = [:]
    /// Next offset to read per events partition, so a restarted tail resumes where it stopped.
    private var resume: [Int: Int64] = [:]

    public init() {}

    /// Call before appending the command, so its events cannot slip past.
    public func expect(_ commandId: String) -> Ticket {
        let ticket = Ticket(commandId: commandId)
        lock.withLock { slots[commandId, default: [:]][ticket.id] = .waiting(nil) }
        return ticket
    }

    public func forget(_ ticket: Ticket) {
        let slot = lock.withLock { () -> Slot? in
            let s = slots[ticket.commandId]?.removeValue(forKey: ticket.id)
            if slots[ticket.commandId]?.isEmpty == true { slots[ticket.commandId] = nil }
            return s
        }
        if case .waiting(let c?)? = slot { c.resume(returning: nil) }
    }

    func deliver(_ commandId: String, _ outcome: CommandOutcome) {
        let ready: [CheckedContinuation<CommandOutcome?, Never>] = lock.withLock {
            guard var tickets = slots[commandId] else { return [] }
            var out: [CheckedContinuation<CommandOutcome?, Never>] = []
            for (id, slot) in tickets {
                if case .waiting(let c?) = slot {
                    out.append(c)
                    tickets[id] = nil
                } else {
                    tickets[id] = .arrived(outcome)
                }
            }
            slots[commandId] = tickets.isEmpty ? nil : tickets
            return out
        }
        ready.forEach { $0.resume(returning: outcome) }
    }

    /// Waits for an expected command's events; nil after `timeout`.
    public func wait(_ ticket: Ticket, timeout: Duration) async -> CommandOutcome? {
        await withTaskGroup(of: CommandOutcome?.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<CommandOutcome?, Never>) in
                    let ready: CommandOutcome?? = self.lock.withLock {
                        switch self.slots[ticket.commandId]?[ticket.id] {
                        case .arrived(let outcome)?:
                            self.slots[ticket.commandId]?[ticket.id] = nil
                            return .some(outcome)
                        case .waiting?:
                            self.slots[ticket.commandId]?[ticket.id] = .waiting(c)
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
                self.forget(ticket)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            self.forget(ticket)
            return first
        }
    }

    func resumeOffset(_ partition: Int) -> Int64? { lock.withLock { resume[partition] } }
    func delivered(_ partition: Int, through offset: Int64) { lock.withLock { resume[partition] = offset + 1 } }

    /// Hands over the events this process's own processor appends as soon as they commit, without reading them
    /// back; the tail still reads everything (a second delivery finds nobody waiting).
    func deliverLocal(_ append: LocalAppend) {
        guard append.topic == Topics.events else { return }
        var records: [LogRecord] = []
        for (i, r) in append.records.enumerated() {
            records.append(LogRecord(topic: append.topic, partition: append.partition, offset: append.offsets[i], key: r.key, value: r.value))
        }
        deliver(records)
    }

    func deliver(_ records: [LogRecord]) {
        var grouped: [String: CommandOutcome] = [:]
        var order: [String] = []
        for record in records {
            guard let envelope = try? EventEnvelope.decodeStored(record.value) else { continue }
            if grouped[envelope.commandId] == nil { order.append(envelope.commandId); grouped[envelope.commandId] = CommandOutcome(events: []) }
            grouped[envelope.commandId]!.events.append((envelope, record))
        }
        for id in order { deliver(id, grouped[id]!) }
    }

    /// The tail reader: no group, every partition, starting at the end (or where a previous run of it stopped).
    public func consumer(log: any EventLog, health: PartitionHealth = PartitionHealth(), logger: Logger) -> PartitionConsumer {
        log.onLocalAppend { [weak self] append in self?.deliverLocal(append) }
        return PartitionConsumer(log: log, topic: Topics.events, group: nil, batchSize: 1000, includeChain: false, health: health, logger: logger) { p in
            TrackerPartition(log: log, partition: p, tracker: self)
        }
    }
}

private final class TrackerPartition: PartitionWorker {
    let log: any EventLog, partition: Int, tracker: OutcomeTracker
    init(log: any EventLog, partition: Int, tracker: OutcomeTracker) { self.log = log; self.partition = partition; self.tracker = tracker }

    func start() async throws -> Int64 {
        if let next = tracker.resumeOffset(partition) { return next }
        let end = try await log.endOffset(topic: Topics.events, partition: partition)
        tracker.delivered(partition, through: end - 1)
        return end
    }

    func handle(_ records: [LogRecord]) async throws {
        tracker.deliver(records)
        if let last = records.last { tracker.delivered(partition, through: last.offset) }
    }
}
