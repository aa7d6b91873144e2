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

    /// Which of these command ids of a partition were decided before the window in memory began (the audit read
    /// model, indexed by command id, is the log's index for them).
    public typealias OlderDecidedLookup = @Sendable (_ partition: Int, _ ids: [String]) async throws -> Set<String>

    /// When to snapshot: after this many events since the last snapshot, or this long after it if any arrived.
    public struct SnapshotPolicy: Sendable {
        public var store: SnapshotStore
        public var everyEvents: Int64 = 10_000
        public var everyInterval: Duration = .seconds(60)
        public init(store: SnapshotStore, everyEvents: Int64 = 10_000, everyInterval: Duration = .seconds(60)) {
            self.store = store; self.everyEvents = everyEvents; self.everyInterval = everyInterval
        }
    }

    private let log: any EventLog
    private let partition: Int
    private let partitions: Int
    private let logger: Logger
    public private(set) var states = AggregateStates()
    private var decided = RecentCommandIds()
    /// One past the last record of our events partition: the fencing token of the next append.
    private var eventsNext: Int64 = 0
    /// One past the last command decided (or folded from the events).
    private var commandsNext: Int64 = 0
    private let signer: CheckpointSigner?
    /// When set, a command record must carry a valid authentication code, or it is refused unread.
    private let authenticator: CommandAuthenticator?
    private let checkpointEvery: Int64
    private let checkpointInterval: Duration
    private var lastCheckpoint: Int64 = -1
    private var lastCheckpointAt: ContinuousClock.Instant = .now
    private var checkpointsNext: Int64 = 0
    /// The chain head of what this processor folded and decided (batches still committing included), computed here from the
    /// records' bytes: checkpoints sign this, never a hash read back from the store.
    private var chainHead = HashChain.genesis
    /// The last record of the last append that committed, with the hash this processor computed for it.
    private var committed: (offset: Int64, hash: String)?
    /// The commands chain: commands have many writers, none of which knows the record before its own, so this
    /// processor, their single reader, chains every command record it reads (from the bytes, in order) and signs the
    /// head like the events'. nil: no command read yet.
    private var commandsHead: (offset: Int64, hash: String)?
    private var commandsLastCheckpoint: Int64 = -1
    private var commandsCheckpointAt: ContinuousClock.Instant = .now
    /// This key's checkpoints of commands at or after the resume point: re-read commands must hash to them.
    private var commandsSigned: [Int64: String] = [:]
    /// The previous batch's append, committing while the next batch is read and decided.
    private var inFlight: Task<Void, Error>?
    private let snapshots: SnapshotPolicy?
    private let olderDecided: OlderDecidedLookup?
    private let decidedWindow: Int
    private var lastSnapshot: (eventsNext: Int64, at: ContinuousClock.Instant) = (0, .now)
    /// One snapshot write at a time; set when one is decided, cleared by the write (from its own task).
    private let snapshotting = LockedFlag()
    /// What the last start did, for benchmarks and tests.
    public private(set) var lastStart: (snapshotAt: Int64?, folded: Int64, skipped: [String]) = (nil, 0, [])

    public init(log: any EventLog, partition: Int, partitions: Int, logger: Logger, signer: CheckpointSigner? = nil,
                authenticator: CommandAuthenticator? = nil, checkpointEvery: Int = 1000,
                checkpointInterval: Duration = .seconds(10), snapshots: SnapshotPolicy? = nil, olderDecided: OlderDecidedLookup? = nil,
                decidedWindow: Int = RecentCommandIds.defaultCapacity) {
        self.log = log; self.partition = partition; self.partitions = partitions; self.logger = logger
        self.authenticator = authenticator
        self.signer = signer; self.checkpointEvery = Int64(checkpointEvery); self.checkpointInterval = checkpointInterval
        self.snapshots = snapshots
        self.olderDecided = olderDecided; self.decidedWindow = decidedWindow
        decided = RecentCommandIds(capacity: decidedWindow)
    }

    public func start() async throws -> Int64 {
        states = AggregateStates()
        decided = RecentCommandIds(capacity: decidedWindow)
        eventsNext = 0
        commandsNext = 0
        lastCheckpoint = -1
        checkpointsNext = 0
        chainHead = HashChain.genesis
        committed = nil
        commandsHead = nil
        commandsLastCheckpoint = -1
        commandsSigned = [:]
        let restored = try await newestUsableSnapshot()
        if let s = restored.snapshot {
            states = try AggregateStates(restoring: s.states)
            decided = s.decided
            (eventsNext, chainHead, commandsNext) = (s.eventsNext, s.lastHash, s.commandsNext)
            (lastCheckpoint, checkpointsNext) = (s.lastCheckpoint, s.checkpointsNext)
            if s.eventsNext > 0 { committed = (s.eventsNext - 1, s.lastHash) }
            if let hash = s.commandsHash, let offset = s.commandsOffset { commandsHead = (offset, hash) }
            commandsLastCheckpoint = s.commandsLastCheckpoint ?? -1
        }
        let fromSnapshot = eventsNext
        // Our own checkpoints past the snapshot: the folded chain must pass through each (a rewrite that re-hashed
        // the rest of the chain still differs from what this key signed).
        let (ours, oursOfCommands) = try await ownCheckpoints()
        // Events past the last checkpoint this key signed (and past the signed snapshot) are vouched for by nothing.
        var unsigned: [LogRecord] = []
        while true {
            let batch = try await log.readTowardsEnd(topic: Topics.events, partition: partition, from: eventsNext, limit: 5000)
            if batch.isEmpty { break }
            for record in batch {
                guard log.denseOffsets ? record.offset == eventsNext : record.offset >= eventsNext else {
                    throw PartitionHalted("events/\(partition) jumps from offset \(eventsNext) to \(record.offset): records are missing")
                }
                // The chain is recomputed from the bytes, not taken from the stored hashes.
                let hash = HashChain.next(previous: chainHead, value: record.value)
                if let prev = record.prevHash, prev != chainHead || record.hash != hash {
                    throw PartitionHalted("events/\(partition) offset \(record.offset) does not match its hash chain: the log was altered; run `wharf audit verify`")
                }
                if let signed = ours[record.offset], signed != hash {
                    throw PartitionHalted("events/\(partition) offset \(record.offset) differs from what this installation signed: the log was rewritten; run `wharf audit verify`")
                }
                chainHead = hash
                committed = (record.offset, hash)
                eventsNext = record.offset + 1
                if signer != nil, record.offset > lastCheckpoint {
                    unsigned.append(record)
                    continue
                }
                let envelope = try EventEnvelope.decodeStored(record.value)
                guard envelope.aggregate == record.key else {
                    throw PartitionHalted("events/\(partition) offset \(record.offset) is keyed \(record.key) but is an event of \(envelope.aggregate): the log was altered")
                }
                states.evolve(envelope)
                decided.insert(envelope.commandId)
                commandsNext = max(commandsNext, envelope.commandPosition.offset + 1)
            }
        }
        if let beyond = ours.keys.filter({ $0 >= eventsNext }).min() {
            throw PartitionHalted("events/\(partition) ends at offset \(eventsNext) but this installation signed a checkpoint at \(beyond): records were removed")
        }
        try await rederive(unsigned)
        try await chainCommands(upTo: commandsNext, signed: oursOfCommands)
        // An uncovered tail (a crash between an append and its checkpoint) is signed at the first idle moment.
        lastCheckpointAt = .now - checkpointInterval
        commandsCheckpointAt = .now - checkpointInterval
        lastSnapshot = (restored.snapshot?.eventsNext ?? 0, .now)
        lastStart = (restored.snapshot?.eventsNext, eventsNext - fromSnapshot, restored.skipped)
        logger.debug("processor \(partition): \(restored.snapshot.map { "snapshot at \($0.eventsNext), " } ?? "")\(eventsNext - fromSnapshot) events folded, \(states.count) aggregates, resuming commands at \(commandsNext)")
        return commandsNext
    }

    /// Adopts events that no checkpoint of this key covers only if deciding their commands again yields exactly
    /// them. A crash between an append and its checkpoint leaves such a tail, and so does a row someone inserted
    /// into the store (its chain recomputed by the store's own append function): signing that at the next checkpoint
    /// would vouch for an event no authenticated command asked for.
    private func rederive(_ tail: [LogRecord]) async throws {
        var next = 0
        var at = commandsNext
        func refuse(_ why: String) -> PartitionHalted {
            PartitionHalted("events/\(partition) offset \(tail[min(next, tail.count - 1)].offset) is past the last checkpoint and \(why): "
                            + "an event was written around the processor; run `wharf audit verify`")
        }
        while next < tail.count {
            let commands = try await log.readTowardsEnd(topic: Topics.commands, partition: partition, from: at, limit: 500, includeChain: false)
            guard let last = commands.last else { throw refuse("no command left derives it") }
            for (record, result) in Self.decoded(commands) where next < tail.count {
                // On the state itself: a mismatch halts the partition, which discards it.
                let older = decided.isFull ? await decidedBeforeTheWindow([try? result.get().id].compactMap { $0 }) : []
                for derived in decide([(record, result)], older: older, on: &states).records {
                    guard next < tail.count, tail[next].key == derived.key, tail[next].value == derived.value else {
                        throw refuse("differs from what deciding commands/\(partition) offset \(record.offset) again yields")
                    }
                    next += 1
                }
                commandsNext = record.offset + 1
            }
            at = last.offset + 1
        }
    }

    /// Reads the checkpoints topic of this partition (advancing `lastCheckpoint`, `commandsLastCheckpoint`,
    /// `checkpointsNext`) and returns the hashes this installation's key signed: of events from `eventsNext` on, and of
    /// every commands offset read. Checkpoints of other keys are left to `wharf audit verify`, which knows every
    /// trusted key.
    private func ownCheckpoints() async throws -> (events: [Int64: String], commands: [Int64: String]) {
        var events: [Int64: String] = [:], commands: [Int64: String] = [:]
        let read = try await log.checkpoints(of: [Topics.events, Topics.commands], partition: partition, from: checkpointsNext)
        for checkpoint in read.checkpoints {
            let ofEvents = checkpoint.topic == Topics.events
            // Only checkpoints this key signed count: a forged one far ahead must not stop the signing.
            guard let signer else {
                if ofEvents { lastCheckpoint = max(lastCheckpoint, checkpoint.offset) } else { commandsLastCheckpoint = max(commandsLastCheckpoint, checkpoint.offset) }
                continue
            }
            guard checkpoint.partition == partition, signer.signed(checkpoint) else { continue }
            if ofEvents {
                lastCheckpoint = max(lastCheckpoint, checkpoint.offset)
                if checkpoint.offset >= eventsNext { events[checkpoint.offset] = checkpoint.hash }
            } else {
                commandsLastCheckpoint = max(commandsLastCheckpoint, checkpoint.offset)
                commands[checkpoint.offset] = checkpoint.hash
            }
        }
        checkpointsNext = read.next
        return (events, commands)
    }

    /// Brings the commands chain up to the record before `next` (where deciding resumes): from the snapshot's head
    /// or the newest own checkpoint before `next`, whichever is later, hashing the command records in between.
    /// Every own checkpoint on the way must match; those at or after `next` are checked as the commands come again.
    private func chainCommands(upTo next: Int64, signed: [Int64: String]) async throws {
        if let (offset, hash) = signed.filter({ $0.key < next }).max(by: { $0.key < $1.key }), offset > commandsHead?.offset ?? -1 {
            commandsHead = (offset, hash)
        }
        var at = (commandsHead?.offset ?? -1) + 1
        while at < next {
            let batch = try await log.readTowardsEnd(topic: Topics.commands, partition: partition, from: at, limit: 5000, includeChain: false)
            guard !batch.isEmpty else { break }
            for record in batch where record.offset < next {
                commandsHead = try chained(record, after: commandsHead, signed: signed)
            }
            at = batch.last!.offset + 1
        }
        commandsSigned = signed.filter { $0.key >= next }
    }

    /// The commands chain extended by one record; a record this key signed differently halts the partition.
    private func chained(_ record: LogRecord, after head: (offset: Int64, hash: String)?, signed: [Int64: String]) throws -> (offset: Int64, hash: String) {
        let hash = HashChain.next(previous: head?.hash ?? HashChain.genesis, value: record.value)
        if let expected = signed[record.offset], expected != hash {
            throw PartitionHalted("commands/\(partition) offset \(record.offset) differs from what this installation signed: the commands were rewritten; run `wharf audit verify`")
        }
        return (record.offset, hash)
    }

    /// The newest snapshot that decodes, passes its content hash and matches the log where it was taken; the
    /// ones skipped, with the reason (logged). None usable: fold from offset zero.
    private func newestUsableSnapshot() async throws -> (snapshot: ProcessorSnapshot?, skipped: [String]) {
        guard let store = snapshots?.store else { return (nil, []) }
        var skipped: [String] = []
        let stored: [SnapshotStore.Stored]
        do { stored = try await store.load(partition: partition) } catch {
            logger.warning("processor \(partition): cannot read snapshots (\(error)); folding the whole partition")
            return (nil, ["unreadable: \(error)"])
        }
        for candidate in stored {
            do {
                if let signer, !signer.signedSnapshot(partition: partition, eventsNext: candidate.eventsNext, sha256: candidate.sha256,
                                                      signature: candidate.signature) {
                    throw ProcessorSnapshot.Unusable(description: "not signed by this installation's checkpoint key")
                }
                let s = try ProcessorSnapshot.decode(body: candidate.body, sha256: candidate.sha256)
                guard s.partition == partition, s.eventsNext == candidate.eventsNext else {
                    throw ProcessorSnapshot.Unusable(description: "taken for another partition or offset")
                }
                if s.eventsNext > 0 {
                    let at = try await log.read(topic: Topics.events, partition: partition, from: s.eventsNext - 1, limit: 1, includeChain: true).first
                    guard at?.offset == s.eventsNext - 1, at?.hash == s.lastHash else {
                        // One this installation signed describes the log as it was: the log has changed since.
                        if signer != nil {
                            throw PartitionHalted("events/\(partition) does not hold the chain head this installation signed in its snapshot "
                                                  + "at offset \(s.eventsNext - 1): the log was rewritten or lost records; run `wharf audit verify`")
                        }
                        throw ProcessorSnapshot.Unusable(description: "the log does not hold its chain head at offset \(s.eventsNext - 1)")
                    }
                }
                _ = try AggregateStates(restoring: s.states)
                return (s, skipped)
            } catch let halted as PartitionHalted {
                throw halted
            } catch {
                logger.warning("processor \(partition): skipping the snapshot at events offset \(candidate.eventsNext): \(error)")
                skipped.append("\(candidate.eventsNext): \(error)")
            }
        }
        return (nil, skipped)
    }

    public func handle(_ records: [LogRecord]) async throws {
        // Chained here, taken over once the previous batch's task (which may sign the commands head) has finished.
        var commands = commandsHead
        for record in records where record.offset > commands?.offset ?? -1 {
            commands = try chained(record, after: commands, signed: commandsSigned)
        }
        let decoded = Self.decoded(records)
        let older = decided.isFull ? await decidedBeforeTheWindow(decoded.compactMap { try? $0.1.get().id }) : []
        // Decided on the state itself, not on a copy: a copy of the whole state per batch cost more than the decisions
        // once partitions held thousands of aggregates. Optimistic: the next batch is decided on top of this one
        // while it commits, and a failed append (or a failed settle below) restarts the worker, which folds again.
        let (out, promptly) = decide(decoded, older: older, on: &states)
        if let last = records.last { commandsNext = max(commandsNext, last.offset + 1) }
        // The previous batch's offsets are this one's fencing token, and its failure voids this batch too (the
        // error restarts this worker, which folds the log again).
        try await settle()
        commandsHead = commands
        guard !out.isEmpty else { return }
        let expected = eventsNext
        // The chain this batch extends, computed here: what the store writes must agree with it, and checkpoints
        // sign it (a store whose head was moved behind our back then disagrees with every later checkpoint).
        var head = chainHead
        for record in out { head = HashChain.next(previous: head, value: record.value) }
        chainHead = head
        // What a snapshot after this batch holds, taken now: the next batch changes `decided` while this commits.
        let basis = snapshotDue(after: Int64(out.count)) ? (states: states, decided: decided, commandsNext: commandsNext, commands: commands) : nil
        if basis != nil { lastSnapshot = (expected + Int64(out.count), .now) }
        inFlight = Task {
            // Fenced: fails if anyone else appended to our events partition since we folded it.
            let appended = try await self.log.append(topic: Topics.events, partition: self.partition, records: out, expectedNextOffset: expected)
            self.eventsNext = appended.last + 1
            self.committed = (appended.last, head)
            try await self.checkpointIfDue(now: promptly)
            if let basis { try await self.snapshot(states: basis.states, decided: basis.decided, commandsNext: basis.commandsNext, commands: basis.commands) }
        }
    }

    /// The records deciding `decoded` appends, in order: each command decided on `state` (which takes the events),
    /// its id marked decided. Deterministic: ids, times and actors come from the commands, so deciding the same
    /// commands on the same state again yields the same bytes (what a start checks an unsigned tail against).
    private func decide(_ decoded: [(LogRecord, Result<CommandEnvelope, Error>)], older: Set<String>,
                        on state: inout AggregateStates) -> (records: [OutgoingRecord], promptly: Bool) {
        var out: [OutgoingRecord] = []
        var promptly = false
        for (record, result) in decoded {
            let position = record.position
            let command: CommandEnvelope
            do {
                command = try result.get()
            } catch {
                // Every record yields an event, even one we cannot read, so the refusal is on record.
                let id = "undecodable:\(position)"
                guard decided.insert(id) else { continue }
                let envelope = EventEnvelope(id: "\(id)/0", aggregate: record.key, actor: "system:processor", time: "1970-01-01T00:00:00.000Z", correlationId: id,
                                             causationId: id, commandType: "unknown", commandPosition: position,
                                             event: Event(CommandRejected(commandType: "unknown", code: .invalid,
                                                                                     reason: "command record could not be decoded: \(error)")))
                out.append(OutgoingRecord(key: record.key, value: envelope.canonicalJSON()))
                continue
            }
            if let authenticator, let problem = authenticator.problem(with: record.value) {
                // Not from a Wharf process: refused by position, so a forged record cannot take a real command's id.
                let id = "unauthenticated:\(position)"
                guard decided.insert(id) else { continue }
                let envelope = EventEnvelope(id: "\(id)/0", aggregate: record.key, actor: "unauthenticated:\(command.actor.prefix(100))",
                                             time: command.time, correlationId: id, causationId: id, commandType: command.type,
                                             commandPosition: position,
                                             event: Event(CommandRejected(commandType: command.type, code: .invalid, reason: "unauthenticated command: \(problem)")))
                out.append(OutgoingRecord(key: record.key, value: envelope.canonicalJSON()))
                continue
            }
            guard decided.insert(command.id), !older.contains(command.id) else { continue }
            let result: Result<[Event], Rejection>
            if Partitioner.partition(for: command.aggregate, partitions: partitions) != partition || record.key != command.aggregate
                || command.aggregate != command.command.aggregate {
                result = .failure(Rejection(.invalid, "command for \(command.aggregate) was written to the wrong key or partition"))
            } else {
                result = state.decide(command.command, authorizedLine: command.authorizedLine)
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
                state.evolve(envelope)
                promptly = promptly || event.signedPromptly
                out.append(OutgoingRecord(key: command.aggregate, value: envelope.canonicalJSON()))
            }
        }
        return (out, promptly)
    }

    private static func decoded(_ records: [LogRecord]) -> [(LogRecord, Result<CommandEnvelope, Error>)] {
        records.map { record in (record, Result { try CommandEnvelope.decodeStored(record.value) }) }
    }

    /// Ids of this batch decided before the window in memory began. Asked only once the window is full (before
    /// that it holds every id of the partition), one query per batch. If the audit cannot answer (being rebuilt, say)
    /// the batch is decided as it is, with a warning: stopping the partition would refuse every write for a case
    /// that needs a repeat older than the whole window.
    private func decidedBeforeTheWindow(_ ids: [String]) async -> Set<String> {
        guard decided.isFull, let olderDecided else { return [] }
        let candidates = ids.filter { !decided.contains($0) }
        guard !candidates.isEmpty else { return [] }
        do {
            return try await olderDecided(partition, candidates)
        } catch {
            logger.warning("processor \(partition): cannot ask the audit about command ids older than the window of \(decidedWindow): \(error)")
            return []
        }
    }

    private func snapshotDue(after newEvents: Int64) -> Bool {
        guard let policy = snapshots else { return false }
        let pending = eventsNext + newEvents - lastSnapshot.eventsNext
        guard pending >= policy.everyEvents || (pending > 0 && ContinuousClock.now - lastSnapshot.at >= policy.everyInterval) else { return false }
        return snapshotting.set()
    }

    /// Encodes and stores a snapshot of the state right after the append that just committed, off the append path.
    private func snapshot(states: AggregateStates, decided: RecentCommandIds, commandsNext: Int64,
                          commands: (offset: Int64, hash: String)?) async throws {
        let eventsNext = eventsNext
        guard let store = snapshots?.store, let hash = committed?.hash else {
            snapshotting.clear()
            return
        }
        let snapshot = (partition: partition, lastCheckpoint: lastCheckpoint, checkpointsNext: checkpointsNext, logger: logger, signer: signer,
                        commandsLastCheckpoint: commandsLastCheckpoint)
        let flag = snapshotting
        Task.detached(priority: .utility) {
            do {
                let s = ProcessorSnapshot(partition: snapshot.partition, eventsNext: eventsNext, lastHash: hash, commandsNext: commandsNext,
                                          lastCheckpoint: snapshot.lastCheckpoint, checkpointsNext: snapshot.checkpointsNext,
                                          decided: decided, states: try states.stored(), commandsOffset: commands?.offset, commandsHash: commands?.hash,
                                          commandsLastCheckpoint: snapshot.commandsLastCheckpoint)
                let (body, sha) = try s.encoded()
                let signature = try snapshot.signer?.signSnapshot(partition: snapshot.partition, eventsNext: eventsNext, sha256: sha)
                try await store.save(partition: snapshot.partition, eventsNext: eventsNext, body: body, sha256: sha, signature: signature)
            } catch {
                snapshot.logger.warning("processor \(snapshot.partition): snapshot at events offset \(eventsNext) not written: \(error)")
            }
            flag.clear()
        }
    }

    /// Caught up: let the last batch finish committing, and report its failure; sign a tail older than the interval.
    public func idle() async throws {
        try await settle()
        try await checkpointIfDue()
    }

    private func settle() async throws {
        guard let task = inFlight else { return }
        inFlight = nil
        try await task.value
    }

    /// Signs the chain head this processor computed for its last committed append, every `checkpointEvery`
    /// records or once the newest record is `checkpointInterval` old, whichever comes first. A crash between the
    /// events append and this one leaves a tail that the next start signs at its first idle moment.
    /// `now`: the batch holds an event a worker acts on only once signed (`EventPayload.signedPromptly`).
    private func checkpointIfDue(now signNow: Bool = false) async throws {
        // Offsets may have holes (Kafka's commit markers), so this counts offsets, not records: at most
        // `checkpointEvery` records apart, which is what `audit verify --max-checkpoint-gap` allows for.
        guard let signer else { return }
        let now = ContinuousClock.now
        if let head = committed, head.offset > lastCheckpoint,
           signNow || head.offset - lastCheckpoint >= checkpointEvery || now - lastCheckpointAt >= checkpointInterval {
            checkpointsNext = try await appendCheckpoint(try signer.sign(topic: Topics.events, partition: partition, offset: head.offset,
                                                                         hash: head.hash, time: WharfTime.format(Date())))
            lastCheckpoint = head.offset
            lastCheckpointAt = now
        }
        if let head = commandsHead, head.offset > commandsLastCheckpoint,
           head.offset - commandsLastCheckpoint >= checkpointEvery || now - commandsCheckpointAt >= checkpointInterval {
            checkpointsNext = try await appendCheckpoint(try signer.sign(topic: Topics.commands, partition: partition, offset: head.offset,
                                                                         hash: head.hash, time: WharfTime.format(Date())))
            commandsLastCheckpoint = head.offset
            commandsCheckpointAt = now
        }
    }

    /// Appends a checkpoint to this partition of the checkpoints topic; returns the offset after it.
    private func appendCheckpoint(_ checkpoint: Checkpoint) async throws -> Int64 {
        let appended = try await log.append(topic: Topics.checkpoints, partition: partition,
                                            records: [OutgoingRecord(key: Checkpoint.key(topic: checkpoint.topic, partition: partition),
                                                                     value: try CanonicalJSON.encode(checkpoint))])
        return appended.last + 1
    }
}

/// Runs the command processor for every partition this process owns.
public enum CommandProcessor {
    public static func consumer(log: any EventLog, partitions: Int, logger: Logger, batchSize: Int = 500,
                                signer: CheckpointSigner? = nil, authenticator: CommandAuthenticator? = nil,
                                checkpointEvery: Int = 1000, checkpointInterval: Duration = .seconds(10),
                                snapshots: CommandPartitionProcessor.SnapshotPolicy? = nil,
                                health: PartitionHealth = PartitionHealth(),
                                olderDecided: CommandPartitionProcessor.OlderDecidedLookup? = nil,
                                decidedWindow: Int = RecentCommandIds.defaultCapacity) -> PartitionConsumer {
        // Commands carry no stored chain (the processor chains them itself from the bytes it reads).
        PartitionConsumer(log: log, topic: Topics.commands, group: CommandPartitionProcessor.group, batchSize: batchSize,
                          includeChain: false, health: health, logger: logger) { p in
            CommandPartitionProcessor(log: log, partition: p, partitions: partitions, logger: logger, signer: signer,
                                      authenticator: authenticator, checkpointEvery: checkpointEvery,
                                      checkpointInterval: checkpointInterval, snapshots: snapshots, olderDecided: olderDecided, decidedWindow: decidedWindow)
        }
    }
}

/// A flag set by one task and cleared by another.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    /// Sets the flag; false if it was set already.
    func set() -> Bool { lock.withLock { defer { value = true }; return !value } }
    func clear() { lock.withLock { value = false } }
}
