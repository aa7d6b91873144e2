import EventLog
import Events
import Foundation
import Logging

/// The command processor of one partition. It owns the events partition with the same number and is its
/// single writer: it folds that partition into aggregate state on start, then decides each new command in
/// order and appends the resulting events (or `CommandRejected`) in one fenced append per batch.
/// Events carry the command's id and position, so the events partition is the processor's checkpoint and a
/// command id that was decided before is never decided again.
public final class CommandPartitionProcessor: PartitionWorker {
    public static let group = "command-processor"

    private let log: any EventLog
    private let partition: Int
    private let partitions: Int
    private let logger: Logger
    private var states = AggregateStates()
    private var decided: Set<String> = []
    /// One past the last record of our events partition: the fencing token of the next append.
    private var eventsNext: Int64 = 0
    private let signer: CheckpointSigner?
    private let checkpointEvery: Int64
    private var lastCheckpoint: Int64 = -1
    /// The previous batch's append, committing while the next batch is read and decided.
    private var inFlight: Task<Void, Error>?

    public init(log: any EventLog, partition: Int, partitions: Int, logger: Logger, signer: CheckpointSigner? = nil, checkpointEvery: Int = 1000) {
        self.log = log; self.partition = partition; self.partitions = partitions; self.logger = logger
        self.signer = signer; self.checkpointEvery = Int64(checkpointEvery)
    }

    public func start() async throws -> Int64 {
        states = AggregateStates()
        decided = []
        eventsNext = 0
        var lastHash = HashChain.genesis
        var nextCommand: Int64 = 0
        while true {
            let batch = try await log.read(topic: Topics.events, partition: partition, from: eventsNext, limit: 5000)
            if batch.isEmpty { break }
            for record in batch {
                guard log.denseOffsets ? record.offset == eventsNext : record.offset >= eventsNext else {
                    throw PartitionHalted("events/\(partition) jumps from offset \(eventsNext) to \(record.offset): records are missing")
                }
                if let prev = record.prevHash, prev != lastHash {
                    throw PartitionHalted("events/\(partition) offset \(record.offset) does not chain to its predecessor: the log was altered; run `wharf audit verify`")
                }
                lastHash = record.hash ?? lastHash
                let envelope = try EventEnvelope.decodeStored(record.value)
                states.evolve(envelope)
                decided.insert(envelope.commandId)
                nextCommand = max(nextCommand, envelope.commandPosition.offset + 1)
                eventsNext = record.offset + 1
            }
        }
        lastCheckpoint = -1
        var at: Int64 = 0
        while true {
            let batch = try await log.read(topic: Topics.checkpoints, partition: partition, from: at, limit: 5000)
            guard let last = batch.last else { break }
            for record in batch where record.key == Checkpoint.key(topic: Topics.events, partition: partition) {
                lastCheckpoint = max(lastCheckpoint, try CanonicalJSON.decode(Checkpoint.self, from: record.value).offset)
            }
            at = last.offset + 1
        }
        logger.debug("processor \(partition): \(eventsNext) events folded, \(states.count) aggregates, resuming commands at \(nextCommand)")
        return nextCommand
    }

    public func handle(_ records: [LogRecord]) async throws {
        var out: [OutgoingRecord] = []
        var staged = states
        for record in records {
            let position = record.position
            let command: CommandEnvelope
            do {
                command = try CommandEnvelope.decodeStored(record.value)
            } catch {
                // Every record yields an event, even one we cannot read, so the refusal is on record.
                let id = "undecodable:\(position)"
                guard decided.insert(id).inserted else { continue }
                let envelope = EventEnvelope(id: "\(id)/0", aggregate: record.key, actor: "system:processor", time: "1970-01-01T00:00:00.000Z", correlationId: id,
                                             causationId: id, commandType: "unknown", commandPosition: position,
                                             event: Event(CommandRejected(commandType: "unknown", code: .invalid,
                                                                                     reason: "command record could not be decoded: \(error)")))
                out.append(OutgoingRecord(key: record.key, value: envelope.canonicalJSON()))
                continue
            }
            guard decided.insert(command.id).inserted else { continue }
            let result: Result<[Event], Rejection>
            if Partitioner.partition(for: command.aggregate, partitions: partitions) != partition || record.key != command.aggregate
                || command.aggregate != command.command.aggregate {
                result = .failure(Rejection(.invalid, "command for \(command.aggregate) was written to the wrong key or partition"))
            } else {
                result = staged.decide(command.command)
            }
            let events: [Event]
            switch result {
            case .success(let accepted): events = accepted
            case .failure(let rejection):
                events = [Event(CommandRejected(commandType: command.type, code: rejection.code, reason: rejection.reason))]
            }
            for (index, event) in events.enumerated() {
                let envelope = EventEnvelope(id: "\(command.id)/\(index)", aggregate: command.aggregate, actor: command.actor,
                                             time: command.time, correlationId: command.correlationId, causationId: command.id,
                                             commandType: command.type, commandPosition: position, event: event)
                staged.evolve(envelope)
                out.append(OutgoingRecord(key: command.aggregate, value: envelope.canonicalJSON()))
            }
        }
        guard !out.isEmpty else { return }
        // The previous batch's offsets are this one's fencing token, and its failure voids this batch too (the
        // error restarts this worker, which folds the log again).
        try await settle()
        let expected = eventsNext
        // Optimistic: the next batch is decided on top of this one while it commits.
        states = staged
        inFlight = Task {
            // Fenced: fails if anyone else appended to our events partition since we folded it.
            let appended = try await self.log.append(topic: Topics.events, partition: self.partition, records: out, expectedNextOffset: expected)
            self.eventsNext = appended.last + 1
            try await self.checkpointIfDue()
        }
    }

    /// Caught up: let the last batch finish committing, and report its failure.
    public func idle() async throws {
        try await settle()
    }

    private func settle() async throws {
        guard let task = inFlight else { return }
        inFlight = nil
        try await task.value
    }

    /// Signs the chain head every `checkpointEvery` records. A crash between the events append and this one only
    /// makes the next gap longer; `audit verify` allows for that.
    private func checkpointIfDue() async throws {
        // Offsets may have holes (Kafka's commit markers), so this counts offsets, not records: at most
        // `checkpointEvery` records apart, which is what `audit verify --max-gap` allows for.
        guard let signer, eventsNext - 1 - lastCheckpoint >= checkpointEvery else { return }
        guard let head = try await log.read(topic: Topics.events, partition: partition, from: eventsNext - 1, limit: 1).first,
              let hash = head.hash else { return }
        let checkpoint = try signer.sign(topic: Topics.events, partition: partition, offset: head.offset, hash: hash)
        try await log.append(topic: Topics.checkpoints, partition: partition,
                             records: [OutgoingRecord(key: Checkpoint.key(topic: Topics.events, partition: partition),
                                                      value: try CanonicalJSON.encode(checkpoint))])
        lastCheckpoint = head.offset
    }
}

/// Runs the command processor for every partition this process owns.
public enum CommandProcessor {
    public static func consumer(log: any EventLog, partitions: Int, logger: Logger, batchSize: Int = 500,
                                signer: CheckpointSigner? = nil, checkpointEvery: Int = 1000) -> PartitionConsumer {
        PartitionConsumer(log: log, topic: Topics.commands, group: CommandPartitionProcessor.group, batchSize: batchSize, logger: logger) { p in
            CommandPartitionProcessor(log: log, partition: p, partitions: partitions, logger: logger, signer: signer, checkpointEvery: checkpointEvery)
        }
    }
}
