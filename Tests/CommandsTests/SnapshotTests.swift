import Commands
import EventLog
import Events
import Foundation
import PostgresNIO
import Testing
import TestSupport

/// Processor snapshots: a snapshot plus the tail gives the same state as a full fold, for random command
/// sequences; a corrupt or torn snapshot is skipped; the processor resumes from the newest valid one.
@Suite struct SnapshotTests {
    /// A random walk of service intents over a few names (creates, scales, upgrades, rollbacks, addresses, destroys).
    static func randomCommands(seed: UInt64, count: Int) -> [Command] {
        var rng = SplitMix(seed: seed)
        let names = (0..<6).map { "svc-\($0)" }
        return (0..<count).map { _ in
            let name = names[Int(rng.next() % UInt64(names.count))]
            switch rng.next() % 7 {
            case 0: return Command(CreateService(name: name, businessLine: "bl", image: "reg.local/\(name):1", replicas: Int(rng.next() % 4)))
            case 1: return Command(ScaleService(name: name, replicas: Int(rng.next() % 6)))
            case 2: return Command(UpgradeServiceImage(name: name, image: "reg.local/\(name):\(rng.next() % 5)"))
            case 3: return Command(RollbackService(name: name, revision: Int(rng.next() % 4) + 1))
            case 4: return Command(SetServiceAddresses(name: name, addresses: (0..<Int(rng.next() % 3)).map { "10.0.0.\($0):80" }))
            case 5: return Command(UpdateServiceConfig(name: name, env: ["K": "\(rng.next() % 3)"]))
            default: return Command(DestroyService(name: name))
            }
        }
    }

    /// Decides each command against the states so far and returns every event envelope, in order.
    static func decideAll(_ commands: [Command]) -> [EventEnvelope] {
        var states = AggregateStates()
        var out: [EventEnvelope] = []
        for (i, command) in commands.enumerated() {
            let events: [Event]
            switch states.decide(command) {
            case .success(let accepted): events = accepted
            case .failure(let r): events = [Event(CommandRejected(commandType: command.type, code: r.code, reason: r.reason))]
            }
            for (j, event) in events.enumerated() {
                let e = EventEnvelope(id: "c\(i)/\(j)", aggregate: command.aggregate, actor: "user:t", time: "2026-11-30T00:00:00.000Z",
                                      correlationId: "c\(i)", causationId: "c\(i)", commandType: command.type,
                                      commandPosition: LogPosition(partition: 0, offset: Int64(i)), event: event)
                states.evolve(e)
                out.append(e)
            }
        }
        return out
    }

    @Test(arguments: 0..<25)
    func snapshotPlusTailEqualsAFullFold(seed: Int) throws {
        let events = Self.decideAll(Self.randomCommands(seed: UInt64(seed), count: 200))
        var full = AggregateStates()
        for e in events { full.evolve(e) }
        var rng = SplitMix(seed: UInt64(seed) &+ 99)
        let cut = Int(rng.next() % UInt64(events.count + 1))
        var head = AggregateStates()
        for e in events.prefix(cut) { head.evolve(e) }
        // Through the stored form: JSON, content hash, decode.
        var decided = RecentCommandIds(capacity: 50)
        for e in events.prefix(cut) { decided.insert(e.commandId) }
        let snapshot = ProcessorSnapshot(partition: 0, eventsNext: Int64(cut), lastHash: "x", commandsNext: Int64(cut), lastCheckpoint: -1,
                                         checkpointsNext: 0, decided: decided, states: try head.stored())
        let (body, sha) = try snapshot.encoded()
        let restored = try ProcessorSnapshot.decode(body: body, sha256: sha)
        #expect(restored == snapshot)
        var resumed = try AggregateStates(restoring: restored.states)
        for e in events.dropFirst(cut) { resumed.evolve(e) }
        #expect(try resumed.stored() == full.stored(), "seed \(seed), cut at \(cut) of \(events.count)")
        #expect(try full.stored().count > 0)
    }

    @Test func theDecidedIdWindowIsBoundedAndKeepsTheNewest() throws {
        var ids = RecentCommandIds(capacity: 3)
        for id in ["a", "b", "c", "d"] { let added = ids.insert(id); #expect(added) }
        let again = ids.insert("d")
        #expect(!again && ids.count == 3)
        #expect(!ids.contains("a") && ids.contains("b") && ids.contains("d"))
        let copy = try JSONDecoder().decode(RecentCommandIds.self, from: try JSONEncoder().encode(ids))
        #expect(copy == ids)
        var evolved = copy
        evolved.insert("e")
        #expect(!evolved.contains("b") && evolved.contains("c"), "a restored window evicts in the original order")
    }

    @Test func aCorruptSnapshotIsRejectedByItsContentHash() throws {
        let s = ProcessorSnapshot(partition: 1, eventsNext: 5, lastHash: "h", commandsNext: 5, lastCheckpoint: -1, checkpointsNext: 0,
                                  decided: RecentCommandIds(capacity: 4), states: [])
        var (body, sha) = try s.encoded()
        body[body.count / 2] ^= 0x01
        #expect(throws: ProcessorSnapshot.Unusable.self) { try ProcessorSnapshot.decode(body: body, sha256: sha) }
        #expect(throws: (any Error).self) { try ProcessorSnapshot.decode(body: Array(body.prefix(body.count / 2)), sha256: sha) }
    }

    /// On a real log: a processor with snapshots resumes from the newest valid one and folds only the tail; a
    /// corrupted newest snapshot and a torn one are skipped for an older one; states equal a full fold every time.
    @Test(.timeLimit(.minutes(2))) func theProcessorResumesFromTheNewestValidSnapshot() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_snap_test")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: 1))
        let store = SnapshotStore(database: database)
        try await store.prepare()
        let logger = TestEnvironment.logger
        let commands = Self.randomCommands(seed: 7, count: 400)
        let records = try commands.enumerated().map { i, c in
            OutgoingRecord(key: c.aggregate, value: try CanonicalJSON.encode(
                CommandEnvelope(id: "c\(i)", actor: "user:t", time: "2026-11-30T00:00:00.000Z", correlationId: "c\(i)", command: c)))
        }
        try await log.append(topic: Topics.commands, partition: 0, records: records)
        let policy = CommandPartitionProcessor.SnapshotPolicy(store: store, everyEvents: 50)
        let processor = CommandPartitionProcessor(log: log, partition: 0, partitions: 1, logger: logger, snapshots: policy)
        var next = try await processor.start()
        while true {
            let batch = try await log.read(topic: Topics.commands, partition: 0, from: next, limit: 37)
            guard let last = batch.last else { break }
            try await processor.handle(batch)
            next = last.offset + 1
        }
        try await processor.idle()
        let events = try await log.endOffset(topic: Topics.events, partition: 0)
        #expect(events == 400)
        var stored: [SnapshotStore.Stored] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            stored = try await store.load(partition: 0)
            if stored.count == SnapshotStore.kept, stored.first!.eventsNext >= 300 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(stored.count == SnapshotStore.kept, "the newest \(SnapshotStore.kept) are kept")

        func fresh() async throws -> (CommandPartitionProcessor, Int64, [ProcessorSnapshot.StoredState]) {
            let p = CommandPartitionProcessor(log: log, partition: 0, partitions: 1, logger: logger, snapshots: policy)
            let resume = try await p.start()
            return (p, resume, try p.states.stored())
        }
        let fullFold = CommandPartitionProcessor(log: log, partition: 0, partitions: 1, logger: logger)
        #expect(try await fullFold.start() == 400)
        let truth = try fullFold.states.stored()
        #expect(fullFold.lastStart.folded == 400)

        let (fromNewest, resume, states) = try await fresh()
        #expect(resume == 400 && states == truth)
        #expect(fromNewest.lastStart.snapshotAt == stored[0].eventsNext && fromNewest.lastStart.folded == 400 - stored[0].eventsNext)

        // Flip a byte in the newest, cut the second in half (a torn write): the third is used.
        try await database.client.query("""
            UPDATE wharf_snapshots.processor SET body = overlay(body PLACING '\\x00'::bytea FROM 20 FOR 1) WHERE events_next = \(stored[0].eventsNext)
            """)
        try await database.client.query("""
            UPDATE wharf_snapshots.processor SET body = substring(body FROM 1 FOR length(body) / 2) WHERE events_next = \(stored[1].eventsNext)
            """)
        let (fromOlder, resumeOlder, statesOlder) = try await fresh()
        #expect(resumeOlder == 400 && statesOlder == truth)
        #expect(fromOlder.lastStart.snapshotAt == stored[2].eventsNext, "\(fromOlder.lastStart)")
        #expect(fromOlder.lastStart.skipped.count == 2 && fromOlder.lastStart.skipped.allSatisfy { $0.contains("content hash") }, "\(fromOlder.lastStart.skipped)")

        // A snapshot whose chain head is not the log's (taken of another history) is skipped too.
        try await database.client.query("DELETE FROM wharf_snapshots.processor WHERE events_next <> \(stored[2].eventsNext)")
        let decoyBody = try ProcessorSnapshot(partition: 0, eventsNext: 399, lastHash: String(repeating: "0", count: 64), commandsNext: 399,
                                              lastCheckpoint: -1, checkpointsNext: 0, decided: RecentCommandIds(), states: []).encoded()
        try await store.save(partition: 0, eventsNext: 399, body: decoyBody.body, sha256: decoyBody.sha256, signature: nil)
        let (skippedDecoy, _, statesDecoy) = try await fresh()
        #expect(statesDecoy == truth)
        #expect(skippedDecoy.lastStart.snapshotAt == stored[2].eventsNext && skippedDecoy.lastStart.skipped.first?.contains("chain head") == true,
                "\(skippedDecoy.lastStart)")

        // A processor with a signing key uses only snapshots it signed: these were written unsigned (as anyone with
        // database access could), so it folds the whole partition instead, to the same state.
        let signed = CommandPartitionProcessor(log: log, partition: 0, partitions: 1, logger: logger, signer: CheckpointSigner(privateKey: .init()),
                                               snapshots: policy)
        #expect(try await signed.start() == 400)
        #expect(try signed.states.stored() == truth && signed.lastStart.snapshotAt == nil && signed.lastStart.folded == 400)
        #expect(signed.lastStart.skipped.allSatisfy { $0.contains("not signed") } && !signed.lastStart.skipped.isEmpty, "\(signed.lastStart.skipped)")

        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
    }
}

/// A small deterministic generator for the property tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
