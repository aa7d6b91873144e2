import Commands
import EventLog
import Events
import Foundation
import PostgresNIO
import Testing
import TestSupport

/// Attacks by someone who can write the database, against a log written by real command processors at production
/// parameters (a checkpoint every 1,000 events or 10 s). Each is caught by `ChainVerifier` and named by partition and
/// offset; each check asserts that checkpoints were really checked.
@Suite(.serialized) struct AuditTamperTests {
    static let partitions = 2

    /// Commands spread over both partitions: creates, then scales, about 1,300 events per partition.
    static func commands() -> [[OutgoingRecord]] {
        var perPartition = [[OutgoingRecord]](repeating: [], count: partitions)
        var n = 0
        func add(_ c: Command) {
            let p = Partitioner.partition(for: c.aggregate, partitions: partitions)
            let envelope = CommandEnvelope(id: "c\(n)", actor: "user:t", time: WharfTime.format(Date()), correlationId: "c\(n)", command: c)
            perPartition[p].append(OutgoingRecord(key: c.aggregate, value: try! CanonicalJSON.encode(envelope)))
            n += 1
        }
        for i in 0..<400 { add(Command(CreateService(name: "s\(i)", businessLine: "pay", image: "r.example.com/s:1", replicas: 1))) }
        for round in 2...6 { for i in 0..<440 { add(Command(ScaleService(name: "s\(i % 400)", replicas: round * 10 + i / 400))) } }
        return perPartition
    }

    @Test(.timeLimit(.minutes(3))) func everyAttackOnTheEventsLogIsCaughtByPartitionAndOffset() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_tamper_test")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: Self.partitions))
        let signer = CheckpointSigner(privateKey: .init())
        var trusted = TrustedKeys()
        trusted.keys[signer.keyId] = signer.privateKey.publicKey
        let logger = TestEnvironment.logger
        var total = 0
        for (p, records) in Self.commands().enumerated() {
            try await log.append(topic: Topics.commands, partition: p, records: records)
            total += records.count
        }
        // Production parameters: the defaults of `wharf serve`.
        let processor = Task {
            try await CommandProcessor.consumer(log: log, partitions: Self.partitions, logger: logger, signer: signer,
                                                checkpointEvery: 1000, checkpointInterval: .seconds(10)).run()
        }
        func verify(witnessed: [Checkpoint] = []) async throws -> ChainVerifier.Report {
            try await ChainVerifier(log: log, trusted: trusted, maxCheckpointGap: 2000, maxUncoveredAge: 60, witnessed: witnessed)
                .verify(topic: Topics.events)
        }
        // Every event decided, then every tail signed (within the 10 s interval).
        // (Polled cheaply, by offsets: a full verify per poll would load the machine other tests share.)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            var signed = true, events: Int64 = 0
            for p in 0..<Self.partitions {
                let end = try await log.endOffset(topic: Topics.events, partition: p)
                events += end
                if try await Self.checkpointOffsets(log: log, partition: p).last != end - 1 { signed = false }
            }
            if signed, events == Int64(total) { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let report = try await verify()
        #expect(report.ok && report.recordsChecked == Int64(total), "\(report.breaks)")
        #expect(report.partitions.allSatisfy { $0.tailCovered && $0.checkpointsChecked >= 2 }, "a checkpoint per 1,000 events and one for the tail")
        // The commands too: the processor chained them as it read them and signed the heads.
        let spine = try await ChainVerifier(log: log, trusted: trusted, maxCheckpointGap: 2000, maxUncoveredAge: 60).verifySpine()
        let commandPartitions = spine.partitions.filter { $0.topic == Topics.commands }
        #expect(spine.ok && commandPartitions.count == Self.partitions, "\(spine.breaks)")
        #expect(commandPartitions.allSatisfy { $0.checkpointsChecked >= 2 && $0.tailCovered }, "\(commandPartitions)")
        let commandCheckpoints = try await Self.checkpoints(log: log, partition: 1, topic: Topics.commands).map(\.offset).sorted()

        let target = 1
        let end = try await log.endOffset(topic: Topics.events, partition: target)
        let checkpointOffsets = try await Self.checkpointOffsets(log: log, partition: target)
        let original = try await Self.records(log: log, partition: target, from: 0)
        try await Self.save(database: database, partition: target)

        // 1. The writer signs its own chain head. New events come in; the attacker rewrites them and moves the
        //    store's head; the processor appends more on top. Its checkpoint after that signs the chain it computed
        //    from what it wrote (signing the head read back from the store, as before, would sign the forgery).
        let late = try Self.lateCommands(partition: target, from: 0, count: 3)
        try await log.append(topic: Topics.commands, partition: target, records: late)
        try await Self.waitFor(log: log, partition: target, events: end + 3)
        let written = try await Self.records(log: log, partition: target, from: end)
        try await Self.rewrite(database: database, log: log, partition: target, at: end)
        try await log.append(topic: Topics.commands, partition: target, records: try Self.lateCommands(partition: target, from: 3, count: 3))
        try await Self.waitFor(log: log, partition: target, events: end + 6)
        var signedAfter: Checkpoint?
        let signedAgain = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < signedAgain, signedAfter == nil {
            signedAfter = try await Self.checkpoints(log: log, partition: target).first { $0.offset == end + 5 }
            try await Task.sleep(for: .milliseconds(200))
        }
        let after = try #require(signedAfter, "the processor signs its tail within the interval")
        var ownChain = try #require(written.first?.prevHash)
        for record in written + (try await Self.records(log: log, partition: target, from: end + 3)) {
            ownChain = HashChain.next(previous: ownChain, value: record.value)
        }
        #expect(after.hash == ownChain, "the processor signed the chain of what it wrote")
        #expect(try await Self.records(log: log, partition: target, from: end + 5).first?.hash != after.hash, "not the store's forged chain")
        let moved = try await verify()
        #expect(moved.breaks.first?.partition == target && (end...(end + 5)).contains(moved.breaks.first?.offset ?? -1)
                && moved.breaks.first?.problem.contains("rewritten") == true, "\(moved.breaks)")
        processor.cancel()
        _ = try? await processor.value

        // Put the partition back as it was (the records, its head, its checkpoints), then attack it again, stopped.
        try await Self.restore(database: database, partition: target)
        let restored = try await verify()
        #expect(restored.ok && restored.checkpointsChecked > 0, "\(restored.breaks)")

        // 2. The newest event rewritten and re-hashed after the signing interval: its tail checkpoint disagrees.
        try await Self.rewrite(database: database, log: log, partition: target, at: end - 1)
        let newest = try await verify()
        #expect(newest.breaks.map(\.partition) == [target] && newest.breaks.first?.offset == end - 1, "\(newest.breaks)")
        #expect(newest.breaks.first?.problem.contains("rewritten") == true && newest.checkpointsChecked > 0)
        try await Self.restore(database: database, partition: target)

        // 3. An event in the middle rewritten and everything after it re-hashed: caught at the next checkpoint, and
        //    a processor starting on it refuses to build on it.
        try await Self.rewrite(database: database, log: log, partition: target, at: 500)
        let middle = try await verify()
        let firstAfter = try #require(checkpointOffsets.first { $0 >= 500 })
        #expect(middle.breaks.first?.partition == target && middle.breaks.first?.offset == firstAfter, "\(middle.breaks)")
        #expect(middle.checkpointsChecked > 0)
        let starting = CommandPartitionProcessor(log: log, partition: target, partitions: Self.partitions, logger: logger, signer: signer)
        await #expect { _ = try await starting.start() } throws: { "\($0)".contains("differs from what this installation signed") }
        try await Self.restore(database: database, partition: target)

        // 4. Truncated back to a checkpoint with the later checkpoints deleted: consistent on its own, caught by a witness.
        let witness = try await Self.newestCheckpoints(log: log)
        let cut = checkpointOffsets.first!
        try await database.client.query(#"DELETE FROM wharf_log.records WHERE topic = 'events' AND partition = \#(target) AND "offset" > \#(cut)"#)
        try await database.client.query("""
            UPDATE wharf_log.partitions p SET next_offset = \(cut + 1), last_hash = r.hash FROM wharf_log.records r
             WHERE p.topic = 'events' AND p.partition = \(target) AND r.topic = 'events' AND r.partition = \(target) AND r."offset" = \(cut)
            """)
        try await Self.deleteCheckpoints(database: database, partition: target, after: cut)
        let truncated = try await verify()
        #expect(truncated.ok, "without a witness a clean truncation looks like a shorter history: \(truncated.breaks)")
        let witnessed = try await verify(witnessed: witness)
        #expect(witnessed.breaks.first?.partition == target && witnessed.breaks.first?.offset == cut + 1
                && witnessed.breaks.first?.problem.contains("truncated") == true, "\(witnessed.breaks)")
        #expect(witnessed.witnessedChecked > 0)
        try await Self.restore(database: database, partition: target)

        // 5. A checkpoint of partition 0 moved into partition 1's checkpoints.
        let other = try #require(try await Self.checkpoints(log: log, partition: 0).first)
        try await log.append(topic: Topics.checkpoints, partition: target,
                             records: [OutgoingRecord(key: Checkpoint.key(topic: Topics.events, partition: target), value: try CanonicalJSON.encode(other))])
        let movedCheckpoint = try await verify()
        #expect(movedCheckpoint.breaks.first?.partition == target && movedCheckpoint.breaks.first?.offset == other.offset
                && movedCheckpoint.breaks.first?.problem.contains("moved") == true, "\(movedCheckpoint.breaks)")
        try await Self.restore(database: database, partition: target)

        // 6. A checkpoint over the true hash, signed by a key nobody trusts.
        let forger = CheckpointSigner(privateKey: .init())
        let forged = try forger.sign(topic: Topics.events, partition: target, offset: 700, hash: original[700].hash!, time: WharfTime.format(Date()))
        try await log.append(topic: Topics.checkpoints, partition: target,
                             records: [OutgoingRecord(key: Checkpoint.key(topic: Topics.events, partition: target), value: try CanonicalJSON.encode(forged))])
        let untrusted = try await verify()
        #expect(untrusted.breaks.first?.offset == 700 && untrusted.breaks.first?.problem.contains("not trusted") == true, "\(untrusted.breaks)")
        try await Self.restore(database: database, partition: target)

        // 7. A record's key changed (the key is outside the hash, the envelope inside names the aggregate).
        try await database.client.query(#"UPDATE wharf_log.records SET key = 'service/other' WHERE topic = 'events' AND partition = \#(target) AND "offset" = 42"#)
        let rekeyed = try await verify()
        #expect(rekeyed.breaks.first?.offset == 42 && rekeyed.breaks.first?.problem.contains("key") == true, "\(rekeyed.breaks)")
        try await Self.restore(database: database, partition: target)

        // 8. A command in the middle rewritten (commands carry no stored hashes: many writers): the processor's chain
        //    of what it read disagrees at its next checkpoint of the commands.
        try await database.client.query("""
            UPDATE wharf_log.records SET value = replace(value, '"actor":"user:t"', '"actor":"user:mallory"')
             WHERE topic = 'commands' AND partition = \(target) AND "offset" = 300
            """)
        let rewrittenCommand = try await ChainVerifier(log: log, trusted: trusted, maxCheckpointGap: 2000).verifySpine()
        let commandBreak = try #require(rewrittenCommand.breaks.first, "a rewritten command is caught")
        #expect(commandBreak.topic == Topics.commands && commandBreak.partition == target
                && commandBreak.offset == commandCheckpoints.first { $0 >= 300 } && commandBreak.problem.contains("rewritten"), "\(commandBreak)")
        #expect(rewrittenCommand.partitions.filter { $0.topic == Topics.commands }.reduce(0) { $0 + $1.checkpointsChecked } > 0)

        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
    }

    /// Events past the last checkpoint are adopted on start only if deciding their commands again yields exactly
    /// them: a tail left by a stop before its checkpoint is, an event inserted through the store's own append
    /// function (chained by it, unsigned) halts the partition instead of being signed.
    @Test(.timeLimit(.minutes(2))) func anUnsignedTailIsAdoptedOnlyIfTheCommandsDeriveIt() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_tail_test")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: Self.partitions))
        let signer = CheckpointSigner(privateKey: .init())
        let logger = TestEnvironment.logger
        let target = 1
        for (p, records) in Self.commands().enumerated() where p == target { try await log.append(topic: Topics.commands, partition: p, records: records) }
        // Production parameters (1,000 events / 10 s). The first run leaves ~300 events unsigned; the second starts by
        // deriving them again and signs them at once, then decides five more and stops before they are due.
        for commands in [[OutgoingRecord](), try Self.lateCommands(partition: target, from: 0, count: 5)] {
            let processor = CommandPartitionProcessor(log: log, partition: target, partitions: Self.partitions, logger: logger, signer: signer)
            var next = try await processor.start()
            try await processor.idle()
            if !commands.isEmpty { try await log.append(topic: Topics.commands, partition: target, records: commands) }
            while true {
                let batch = try await log.read(topic: Topics.commands, partition: target, from: next, limit: 500)
                guard let last = batch.last else { break }
                try await processor.handle(batch)
                next = last.offset + 1
            }
            try await processor.idle()  // settles the append; the 10 s interval is not over
        }
        let events = try await log.endOffset(topic: Topics.events, partition: target)
        let signedUpTo = try #require(try await Self.checkpointOffsets(log: log, partition: target).last)
        #expect(signedUpTo == events - 6, "five events unsigned (signed through \(signedUpTo) of \(events))")

        let restarted = CommandPartitionProcessor(log: log, partition: target, partitions: Self.partitions, logger: logger, signer: signer)
        let resume = try await restarted.start()
        #expect(resume == (try await log.endOffset(topic: Topics.commands, partition: target)), "the tail was derived again and adopted")
        #expect(restarted.states.count > 0)

        // Someone with write access appends an event through the store's own function: chained by the store, unsigned.
        let genuine = try #require(try await log.read(topic: Topics.events, partition: target, from: events - 1, limit: 1).first)
        let forged = genuine.value.replacingOccurrences(of: #""replicas":904"#, with: #""replicas":99"#)
            .replacingOccurrences(of: #""id":"late4/0""#, with: #""id":"late5/0""#)
        #expect(forged != genuine.value, "the forgery differs")
        try await database.client.query("""
            SELECT wharf_log.append('events', \(target)::int, NULL::bigint, ARRAY[\(genuine.key)]::text[], ARRAY[\(forged)]::text[])
            """)
        let starting = CommandPartitionProcessor(log: log, partition: target, partitions: Self.partitions, logger: logger, signer: signer)
        await #expect { _ = try await starting.start() } throws: { "\($0)".contains("written around the processor") }

        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
    }

    // MARK: - The attacker's tools (direct SQL, as anyone with write access to the database)

    static func records(log: PostgresEventLog, partition: Int, from: Int64) async throws -> [LogRecord] {
        var out: [LogRecord] = []
        var at = from
        while true {
            let batch = try await log.read(topic: Topics.events, partition: partition, from: at, limit: 5000)
            guard let last = batch.last else { return out }
            out += batch
            at = last.offset + 1
        }
    }

    /// The checkpoints of one topic (events unless told) stored in the partition's checkpoints.
    static func checkpoints(log: PostgresEventLog, partition: Int, topic: String = Topics.events) async throws -> [Checkpoint] {
        try await log.read(topic: Topics.checkpoints, partition: partition, from: 0, limit: 100_000)
            .map { try CanonicalJSON.decode(Checkpoint.self, from: $0.value) }.filter { $0.topic == topic }
    }

    static func checkpointOffsets(log: PostgresEventLog, partition: Int) async throws -> [Int64] {
        try await checkpoints(log: log, partition: partition).map(\.offset).sorted()
    }

    static func newestCheckpoints(log: PostgresEventLog) async throws -> [Checkpoint] {
        var out: [Checkpoint] = []
        for p in 0..<partitions { if let c = try await checkpoints(log: log, partition: p).max(by: { $0.offset < $1.offset }) { out.append(c) } }
        return out
    }

    /// Changes the record at `offset` (its replica count, or its text) and re-hashes it and everything after it,
    /// moving the partition's head: a chain that is consistent on its own.
    static func rewrite(database: Database, log: PostgresEventLog, partition: Int, at offset: Int64) async throws {
        let tail = try await records(log: log, partition: partition, from: offset)
        var previous = try #require(tail.first?.prevHash)
        var offsets: [Int64] = [], values: [String] = [], prevs: [String] = [], hashes: [String] = []
        for (i, record) in tail.enumerated() {
            var value = record.value
            if i == 0 { value = value.replacingOccurrences(of: #""actor":"user:t""#, with: #""actor":"user:mallory""#) }
            #expect(i > 0 || value != record.value, "the rewrite changes the record")
            let hash = HashChain.next(previous: previous, value: value)
            offsets.append(record.offset); values.append(value); prevs.append(previous); hashes.append(hash)
            previous = hash
        }
        try await database.client.query("""
            UPDATE wharf_log.records r SET value = u.v, prev_hash = decode(u.p, 'hex'), hash = decode(u.h, 'hex')
              FROM unnest(\(offsets)::bigint[], \(values)::text[], \(prevs)::text[], \(hashes)::text[]) AS u(o, v, p, h)
             WHERE r.topic = 'events' AND r.partition = \(partition) AND r."offset" = u.o
            """, logger: TestEnvironment.logger)
        try await database.client.query("""
            UPDATE wharf_log.partitions SET last_hash = decode(\(previous), 'hex') WHERE topic = 'events' AND partition = \(partition)
            """, logger: TestEnvironment.logger)
    }

    static func deleteCheckpoints(database: Database, partition: Int, after offset: Int64) async throws {
        try await database.client.query("""
            DELETE FROM wharf_log.records WHERE topic = 'checkpoints' AND partition = \(partition) AND key = \("events/\(partition)")
               AND (value::jsonb ->> 'offset')::bigint > \(offset)
            """, logger: TestEnvironment.logger)
    }

    /// Keeps a copy of the partition's events and checkpoints (records and heads) for `restore`.
    static func save(database: Database, partition: Int) async throws {
        try await database.client.query("""
            CREATE TABLE saved_records AS SELECT * FROM wharf_log.records WHERE partition = \(partition) AND topic IN ('events', 'checkpoints')
            """, logger: TestEnvironment.logger)
        try await database.client.query("""
            CREATE TABLE saved_partitions AS SELECT * FROM wharf_log.partitions WHERE partition = \(partition) AND topic IN ('events', 'checkpoints')
            """, logger: TestEnvironment.logger)
    }

    /// Puts the partition's events and checkpoints back as `save` found them.
    static func restore(database: Database, partition: Int) async throws {
        try await database.client.query("""
            DELETE FROM wharf_log.records WHERE partition = \(partition) AND topic IN ('events', 'checkpoints')
            """, logger: TestEnvironment.logger)
        try await database.client.query("INSERT INTO wharf_log.records SELECT * FROM saved_records", logger: TestEnvironment.logger)
        try await database.client.query("""
            UPDATE wharf_log.partitions p SET next_offset = s.next_offset, last_hash = s.last_hash FROM saved_partitions s
             WHERE p.topic = s.topic AND p.partition = s.partition
            """, logger: TestEnvironment.logger)
    }

    /// Scales of existing services to new replica counts (accepted events), as command records of the partition.
    static func lateCommands(partition: Int, from: Int, count: Int) throws -> [OutgoingRecord] {
        let names = (0..<400).map { "s\($0)" }.filter { Partitioner.partition(for: AggregateKey.service($0), partitions: partitions) == partition }
        return try (from..<(from + count)).map { i in
            let c = Command(ScaleService(name: names[i], replicas: 900 + i))
            let envelope = CommandEnvelope(id: "late\(i)", actor: "user:t", time: WharfTime.format(Date()), correlationId: "late\(i)", command: c)
            return OutgoingRecord(key: c.aggregate, value: try CanonicalJSON.encode(envelope))
        }
    }

    static func waitFor(log: PostgresEventLog, partition: Int, events: Int64) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await log.endOffset(topic: Topics.events, partition: partition) < events, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await log.endOffset(topic: Topics.events, partition: partition) == events)
    }
}
