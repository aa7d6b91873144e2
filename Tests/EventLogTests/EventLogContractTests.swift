import EventLog
import Events
import Foundation
import PostgresNIO
import Testing
import TestSupport

extension LogKind: CustomTestStringConvertible {
    public var testDescription: String { rawValue }
}

/// One log under test, with what a test needs to reach around it (the database, a second "process").
struct LogUnderTest {
    let kind: LogKind
    let log: any EventLog
    let database: Database
    /// Kafka: the topic prefix of this test.
    let prefix: String
    private let closers: Closers

    final class Closers: @unchecked Sendable {
        var list: [() -> Void] = []
    }

    /// Another instance on the same store, as a second process would open it.
    func another() async throws -> any EventLog {
        switch kind {
        case .postgres:
            let other = try await PostgresEventLog.open(database: database, listen: false)
            closers.list.append(other.close)
            return other
        case .kafka:
            let other = try await TestEnvironment.kafkaLog(database: database, prefix: prefix)
            closers.list.append(other.close)
            return other
        }
    }

    static let topics = { (partitions: Int) in
        [TopicSpec(name: "t", partitions: partitions, chained: false),
         TopicSpec(name: "c", partitions: partitions, chained: true),
         TopicSpec(name: Topics.checkpoints, partitions: partitions, chained: false)]
    }

    static func with(_ kind: LogKind, partitions: Int = 4, _ body: (LogUnderTest) async throws -> Void) async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_log_test")
        let prefix = TestEnvironment.uniqueTopicPrefix()
        let closers = Closers()
        let log: any EventLog
        do {
            switch kind {
            case .postgres:
                let postgres = try await PostgresEventLog.open(database: database)
                closers.list.append(postgres.close)
                log = postgres
            case .kafka:
                let kafka = try await TestEnvironment.kafkaLog(database: database, prefix: prefix)
                closers.list.append(kafka.close)
                log = kafka
            }
            try await log.ensureTopics(topics(partitions))
            try await body(LogUnderTest(kind: kind, log: log, database: database, prefix: prefix, closers: closers))
        } catch {
            closers.list.reversed().forEach { $0() }
            await database.close()
            throw error
        }
        closers.list.reversed().forEach { $0() }
        await database.close()
        try? await Database.dropScratch(database.settings, logger: TestEnvironment.logger)
    }
}

func records(_ values: [String]) -> [OutgoingRecord] { values.map { OutgoingRecord(key: "k", value: $0) } }

/// The log contract. The same tests run against the embedded Postgres log and against Kafka; where a test needs
/// to reach around the log (hold a transaction open, tamper with stored records) each store gets the equivalent.
@Suite struct EventLogContractTests {
    /// The gateway's group commit: several partitions in one append, offsets per batch in the order given; two
    /// such appends over the same partitions, given in opposite orders, from two writers at once, both complete.
    @Test(arguments: LogKind.allCases)
    func appendEachAppendsToSeveralPartitionsAtOnce(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind) { t in
            try await t.log.append(topic: "t", partition: 0, records: records(["z"]))
            let appended = try await t.log.appendEach(topic: "t", batches: [(partition: 2, records: records(["a", "b"])),
                                                                            (partition: 0, records: records(["c"]))])
            #expect(appended.count == 2)
            #expect(appended[0].offsets.count == 2 && appended[1].offsets.count == 1)
            if t.log.denseOffsets { #expect(appended[0].offsets == [0, 1] && appended[1].offsets == [1]) }
            #expect(try await t.log.readTowardsEnd(topic: "t", partition: 2, from: 0, limit: 10).map(\.value) == ["a", "b"])
            #expect(try await t.log.readTowardsEnd(topic: "t", partition: 0, from: appended[1].first, limit: 10).map(\.value) == ["c"])
            let other = try await t.another()
            async let one = t.log.appendEach(topic: "t", batches: (0..<4).map { (partition: $0, records: records(["x\($0)"])) })
            async let two = other.appendEach(topic: "t", batches: (0..<4).reversed().map { (partition: $0, records: records(["y\($0)"])) })
            let (a, b) = try await (one, two)
            #expect(a.count == 4 && b.count == 4)
            for p in 0..<4 {
                var values: [String] = [], next = min(a[p].first, b[3 - p].first)
                while values.count < 2 {
                    let batch = try await t.log.readTowardsEnd(topic: "t", partition: p, from: next, limit: 10, includeChain: false)
                    guard let last = batch.last else { break }
                    values += batch.map(\.value)
                    next = last.offset + 1
                }
                #expect(Set(values) == ["x\(p)", "y\(p)"], "partition \(p): \(values)")
            }
        }
    }

    /// A consumer reads this process's recent appends from memory (Postgres); records another process appended
    /// between them must still come, in their place, and a read with the chain is the store's.
    @Test(arguments: LogKind.allCases)
    func aReaderGetsAnotherWritersRecordsBetweenItsOwn(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind) { t in
            let other = try await t.another()
            for topic in ["t", "c"] {
                try await t.log.append(topic: topic, partition: 3, records: records(["a0", "a1"]))
                try await other.append(topic: topic, partition: 3, records: records(["b0"]))
                try await t.log.append(topic: topic, partition: 3, records: records(["a2"]))
                var read: [LogRecord] = []
                var next: Int64 = 0
                while read.count < 4 {
                    let batch = try await t.log.readTowardsEnd(topic: topic, partition: 3, from: next, limit: 10, includeChain: false)
                    guard let last = batch.last else { break }
                    read += batch
                    next = last.offset + 1
                }
                #expect(read.map(\.value) == ["a0", "a1", "b0", "a2"], "topic \(topic)")
                #expect(zip(read, read.dropFirst()).allSatisfy { $0.offset < $1.offset })
                if topic == "c", kind == .postgres {
                    let chained = try await t.log.read(topic: topic, partition: 3, from: 0, limit: 10)
                    #expect(chained.map(\.value) == ["a0", "a1", "b0", "a2"], "a chained read is the store's, whole")
                    #expect(chained.allSatisfy { $0.hash != nil && $0.prevHash != nil }, "a chained read carries the chain")
                    #expect(zip(chained, chained.dropFirst()).allSatisfy { $0.hash == $1.prevHash })
                }
            }
        }
    }

    @Test(arguments: LogKind.allCases)
    func appendsGetIncreasingOffsetsAndReadBackInOrder(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind) { t in
            let log = t.log
            let ab = try await log.append(topic: "t", partition: 1, records: records(["a", "b"]))
            let c = try await log.append(topic: "t", partition: 1, records: records(["c"]))
            let x = try await log.append(topic: "t", partition: 2, records: records(["x"]))
            #expect(ab.offsets.count == 2 && ab.first < ab.last && ab.last < c.first)
            #expect(x.first == 0, "a partition starts at offset 0")
            let read = try await log.read(topic: "t", partition: 1, from: 0, limit: 10)
            #expect(read.map(\.offset) == ab.offsets + c.offsets)
            #expect(read.map(\.value) == ["a", "b", "c"])
            #expect(read.allSatisfy { $0.topic == "t" && $0.partition == 1 }, "records carry the log's topic name")
            #expect(try await log.read(topic: "t", partition: 1, from: ab.offsets[1], limit: 1).map(\.value) == ["b"])
            #expect(try await log.read(topic: "t", partition: 1, from: c.last + 1, limit: 10).isEmpty)
            #expect(try await log.endOffset(topic: "t", partition: 1) > c.last)
            if log.denseOffsets {
                #expect(read.map(\.offset) == [0, 1, 2])
                #expect(try await log.endOffset(topic: "t", partition: 1) == 3)
            }
        }
    }

    @Test(arguments: LogKind.allCases)
    func expectedOffsetFencesAStaleWriter(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind) { t in
            let log = t.log
            try await log.append(topic: "t", partition: 0, records: records(["a", "b", "c"]))
            await #expect(throws: EventLogError.offsetMismatch(topic: "t", partition: 0, expected: 1, actual: 3)) {
                try await log.append(topic: "t", partition: 0, records: records(["late"]), expectedNextOffset: 1)
            }
            let d = try await log.append(topic: "t", partition: 0, records: records(["d"]), expectedNextOffset: 3)
            #expect(d.offsets == [3])
            let e = try await log.append(topic: "t", partition: 0, records: records(["e"]), expectedNextOffset: d.last + 1)
            await #expect(throws: EventLogError.offsetMismatch(topic: "t", partition: 0, expected: d.last + 1, actual: e.last + 1)) {
                try await log.append(topic: "t", partition: 0, records: records(["stale"]), expectedNextOffset: d.last + 1)
            }
            // A writer in another process that appended meanwhile is noticed too.
            let other = try await t.another()
            try await other.append(topic: "t", partition: 0, records: records(["other"]))
            await #expect(throws: EventLogError.self) {
                try await log.append(topic: "t", partition: 0, records: records(["f"]), expectedNextOffset: e.last + 1)
            }
            #expect(try await readAll(log, "t", 0).map(\.value) == ["a", "b", "c", "d", "e", "other"])
        }
    }

    @Test(arguments: LogKind.allCases)
    func concurrentAppendersLoseNothing(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind) { t in
            let log = t.log
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<16 {
                    group.addTask {
                        for i in 0..<25 { try await log.append(topic: "t", partition: 3, records: records(["\(writer)-\(i)"])) }
                    }
                }
                try await group.waitForAll()
            }
            let all = try await readAll(log, "t", 3)
            #expect(all.count == 400 && Set(all.map(\.value)).count == 400)
            #expect(zip(all, all.dropFirst()).allSatisfy { $0.offset < $1.offset })
            if log.denseOffsets { #expect(all.map(\.offset) == Array(0..<400)) }
        }
    }

    /// A record whose transaction commits late must not be skipped by a reader, and is not visible before.
    @Test(arguments: LogKind.allCases)
    func aLateCommitIsNeverSkipped(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind) { t in
            let log = t.log, database = t.database
            let commitSlow: () async throws -> Void
            switch kind {
            case .postgres:
                // Offsets are handed out under the partition lock, so the later writer waits and commits after it.
                let slow = try await database.dedicatedConnection()
                try await slow.query("BEGIN", logger: database.logger)
                try await slow.query("SELECT wharf_log.append('t', 0, NULL, ARRAY['k'], ARRAY['slow'])", logger: database.logger)
                commitSlow = { try await slow.query("COMMIT", logger: database.logger); try await slow.close() }
            case .kafka:
                // An open Kafka transaction holds the last stable offset: read_committed readers stop before it.
                let slow = try KafkaProducer(brokers: try TestEnvironment.kafkaBrokers(), transactionalId: "late-\(t.prefix)")
                try await slow.initTransactions()
                try slow.beginTransaction()
                _ = try await slow.send(topic: t.prefix + "t", partition: 0, records: records(["slow"]))
                commitSlow = { try await slow.commitTransaction(); slow.close() }
            }
            let fast = Task { try await log.append(topic: "t", partition: 0, records: records(["fast"])) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await log.read(topic: "t", partition: 0, from: 0, limit: 10).isEmpty, "nothing is visible before the first commit")
            try await commitSlow()
            let fastOffset = try await fast.value.first
            let read = try await readAll(log, "t", 0)
            #expect(read.map(\.value) == ["slow", "fast"])
            #expect(read.last?.offset == fastOffset)
        }
    }

    @Test(arguments: LogKind.allCases)
    func waitWakesOnAnotherProcessesAppend(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind) { t in
            let other = try await t.another()
            let clock = ContinuousClock()
            let start = clock.now
            async let wake: Void = t.log.waitForRecords(topic: "t", partition: 2, from: 0, timeout: .seconds(10))
            try await Task.sleep(for: .milliseconds(100))
            try await other.append(topic: "t", partition: 2, records: records(["x"]))
            await wake
            #expect(clock.now - start < .seconds(5), "the waiter was woken, not timed out")
            #expect(try await t.log.read(topic: "t", partition: 2, from: 0, limit: 10).map(\.value) == ["x"])
        }
    }

    @Test(arguments: LogKind.allCases)
    func partitionCountCannotChange(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind, partitions: 4) { t in
            await #expect(throws: EventLogError.partitionCountMismatch(topic: "t", existing: 4, requested: 8)) {
                try await t.log.ensureTopics([TopicSpec(name: "t", partitions: 8, chained: false)])
            }
        }
    }

    @Test(arguments: LogKind.allCases)
    func oneOwnerPerPartitionAndTakeover(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind) { t in
            let log = t.log
            let first = try await log.makeOwnership(group: "g")
            let second = try await log.makeOwnership(group: "g")
            let a = try await first.claim([0, 1, 2, 3])
            let b = try await second.claim([0, 1, 2, 3])
            #expect(a == [0, 1, 2, 3] && b.isEmpty)
            let otherGroup = try await log.makeOwnership(group: "h")
            #expect(try await otherGroup.claim([0, 1]) == [0, 1], "groups are independent")
            await first.release()   // as when a process dies: its session ends
            #expect(try await second.claim([0, 1, 2, 3]) == [0, 1, 2, 3])
            await second.release()
            await otherGroup.release()
        }
    }

    /// The chain verifies on both stores, signed checkpoints included; a forged checkpoint signature does not.
    @Test(arguments: LogKind.allCases)
    func chainAndSignedCheckpointsVerify(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind) { t in
            let log = t.log
            let signer = CheckpointSigner(privateKey: .init())
            var trusted = TrustedKeys()
            trusted.keys[signer.keyId] = signer.privateKey.publicKey
            for p in 0..<4 {
                try await log.append(topic: "c", partition: p, records: records((0..<4).map { "{\"n\":\(p * 10 + $0)}" }))
                try await log.append(topic: "c", partition: p, records: records((4..<6).map { "{\"n\":\(p * 10 + $0)}" }))
            }
            let chain = try await readAll(log, "c", 0)
            #expect(chain.count == 6 && chain.first?.prevHash == HashChain.genesis)
            #expect(zip(chain, chain.dropFirst()).allSatisfy { $0.hash == $1.prevHash }, "the chain continues across appends")
            let head = chain[4]
            let checkpoint = try signer.sign(topic: "c", partition: 0, offset: head.offset, hash: head.hash!, time: "2026-12-01T00:00:00.000Z")
            try await log.append(topic: Topics.checkpoints, partition: 0,
                                 records: [OutgoingRecord(key: Checkpoint.key(topic: "c", partition: 0), value: try CanonicalJSON.encode(checkpoint))])
            let clean = try await ChainVerifier(log: log, trusted: trusted, checkKeys: false, maxCheckpointGap: 16).verify(topic: "c")
            #expect(clean.ok && clean.recordsChecked == 24 && clean.checkpointsChecked == 1, "\(clean.breaks)")

            let forger = CheckpointSigner(privateKey: .init())
            var forged = try forger.sign(topic: "c", partition: 0, offset: chain[2].offset, hash: chain[2].hash!, time: "2026-12-01T00:00:00.000Z")
            forged.keyId = signer.keyId
            try await log.append(topic: Topics.checkpoints, partition: 0,
                                 records: [OutgoingRecord(key: Checkpoint.key(topic: "c", partition: 0), value: try CanonicalJSON.encode(forged))])
            let invalid = try await ChainVerifier(log: log, trusted: trusted, checkKeys: false).verify(topic: "c")
            #expect(invalid.breaks.first?.problem.contains("signature is invalid") == true)
        }
    }

    /// The verifier's packed read gives exactly the stored bytes and hashes, escapes and non-ASCII included (a
    /// server-side text-to-bytea cast would have parsed the backslashes), across more than one packed piece.
    @Test(arguments: LogKind.allCases)
    func packedChainReadsGiveTheStoredBytes(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind) { t in
            let values = (0..<230).map { #"{"n":\#($0),"s":"a\"b\\c\\\\d \u00e9 é 😀 \n"}"# }
            try await t.log.append(topic: "c", partition: 0, records: values.enumerated().map {
                OutgoingRecord(key: $0.offset % 2 == 0 ? #"k\x"# : "k/é", value: $0.element)
            })
            let plain = try await readAll(t.log, "c", 0)
            var packed: [(Int64, String, String, String, String)] = []
            var at: Int64 = 0
            while true {
                let batch = try await t.log.readChain(topic: "c", partition: 0, from: at, limit: 150)
                guard let last = batch.lastOffset else { break }
                batch.forEach { r in
                    packed.append((r.offset, String(decoding: r.key, as: UTF8.self), String(decoding: r.value, as: UTF8.self),
                                   HashChain.hex(r.prevHash), HashChain.hex(r.hash)))
                    return true
                }
                at = last + 1
            }
            #expect(packed.count == values.count && plain.count == values.count)
            for (p, r) in zip(packed, plain) {
                #expect(p.0 == r.offset && p.1 == r.key && p.2 == r.value && p.3 == r.prevHash && p.4 == r.hash, "offset \(r.offset)")
            }
            #expect(try await ChainVerifier(log: t.log, trusted: TrustedKeys(), checkKeys: false).verify(topic: "c").ok)
        }
    }

    /// A record written into a chained partition by anything but the log (a foreign producer on Kafka, a row
    /// edited in place on Postgres) breaks the chain at that record.
    @Test(arguments: LogKind.allCases)
    func verifierFindsARecordThatDidNotComeThroughTheLog(_ kind: LogKind) async throws {
        try await LogUnderTest.with(kind) { t in
            let log = t.log
            for p in 0..<4 { try await log.append(topic: "c", partition: p, records: records((0..<5).map { "{\"n\":\(p * 10 + $0)}" })) }
            let clean = try await ChainVerifier(log: log, trusted: TrustedKeys(), checkKeys: false).verify(topic: "c")
            #expect(clean.ok && clean.recordsChecked == 20)
            let tampered: Int64
            switch kind {
            case .postgres:
                try await t.database.client.query(#"UPDATE wharf_log.records SET value = '{"n":99}' WHERE topic = 'c' AND partition = 2 AND "offset" = 3"#)
                tampered = 3
            case .kafka:
                let foreign = try KafkaProducer(brokers: try TestEnvironment.kafkaBrokers())
                defer { foreign.close() }
                let last = try await readAll(log, "c", 2).last!
                tampered = try await foreign.send(topic: t.prefix + "c", partition: 2, records: records(["{\"n\":99}"]),
                                                  headers: [[("wharf-prev-hash", last.hash!), ("wharf-hash", String(repeating: "0", count: 64))]]).first!
            }
            let report = try await ChainVerifier(log: log, trusted: TrustedKeys(), checkKeys: false).verify(topic: "c")
            #expect(report.breaks.count == 1)
            #expect(report.breaks.first?.partition == 2 && report.breaks.first?.offset == tampered)
            #expect(report.breaks.first?.problem.contains("altered") == true)
        }
    }
}

/// Tampering that only a database allows: deleting records, rewriting the chain behind a signed checkpoint.
@Suite struct PostgresLogTamperingTests {
    @Test func verifierFindsRemovedRecords() async throws {
        try await LogUnderTest.with(.postgres) { t in
            let log = t.log
            for p in 0..<4 { try await log.append(topic: "c", partition: p, records: records((0..<5).map { "{\"n\":\(p * 10 + $0)}" })) }
            try await t.database.client.query(#"DELETE FROM wharf_log.records WHERE topic = 'c' AND partition = 1 AND "offset" = 4"#)
            let removed = try await ChainVerifier(log: log, trusted: TrustedKeys(), checkKeys: false).verify(topic: "c")
            #expect(removed.breaks.map(\.partition) == [1])
            #expect(removed.breaks.first?.offset == 4)
        }
    }

    /// A chain rewritten and re-hashed from some offset on is internally consistent; only the signed checkpoint
    /// exposes it. Removing checkpoints or records behind one is caught too.
    @Test func signedCheckpointsExposeARewrittenChain() async throws {
        try await LogUnderTest.with(.postgres) { t in
            let log = t.log, database = t.database
            let signer = CheckpointSigner(privateKey: .init())
            var trusted = TrustedKeys()
            trusted.keys[signer.keyId] = signer.privateKey.publicKey
            try await log.append(topic: "c", partition: 0, records: records((0..<10).map { "{\"n\":\($0)}" }))
            let head = try #require(try await log.read(topic: "c", partition: 0, from: 7, limit: 1).first)
            let checkpoint = try signer.sign(topic: "c", partition: 0, offset: 7, hash: head.hash!, time: "2026-12-01T00:00:00.000Z")
            try await log.append(topic: Topics.checkpoints, partition: 0,
                                 records: [OutgoingRecord(key: Checkpoint.key(topic: "c", partition: 0), value: try CanonicalJSON.encode(checkpoint))])
            let clean = try await ChainVerifier(log: log, trusted: trusted, checkKeys: false, maxCheckpointGap: 8).verify(topic: "c")
            #expect(clean.ok && clean.checkpointsChecked == 1, "\(clean.breaks)")

            // The attacker rewrites offsets 3... with valid hashes, using the store's own append.
            try await database.client.query(#"DELETE FROM wharf_log.records WHERE topic = 'c' AND partition = 0 AND "offset" >= 3"#)
            try await database.client.query(#"UPDATE wharf_log.partitions p SET next_offset = 3, last_hash = r.hash FROM wharf_log.records r WHERE p.topic = 'c' AND p.partition = 0 AND r.topic = 'c' AND r.partition = 0 AND r."offset" = 2"#)
            try await log.append(topic: "c", partition: 0, records: records((3..<10).map { "{\"n\":\($0 * 100)}" }))
            let chainOnly = try await ChainVerifier(log: log, trusted: TrustedKeys(), checkKeys: false).verify(topic: "c")
            #expect(chainOnly.ok == false, "with no trusted key, no checkpoint passes")
            let rewritten = try await ChainVerifier(log: log, trusted: trusted, checkKeys: false).verify(topic: "c")
            #expect(rewritten.breaks.first?.offset == 7)
            #expect(rewritten.breaks.first?.problem.contains("rewritten") == true)

            // Dropping the checkpoint hides the rewrite from the hashes, but not from the gap rule.
            try await database.client.query("DELETE FROM wharf_log.records WHERE topic = 'checkpoints'")
            let gap = try await ChainVerifier(log: log, trusted: trusted, checkKeys: false, maxCheckpointGap: 8).verify(topic: "c")
            #expect(gap.breaks.first?.problem.contains("checkpoints were removed") == true)

            // A checkpoint signed with the forger's own key is not trusted.
            let forger = CheckpointSigner(privateKey: .init())
            let own = try forger.sign(topic: "c", partition: 0, offset: 5, hash: try #require(try await log.read(topic: "c", partition: 0, from: 5, limit: 1).first?.hash), time: "2026-12-01T00:00:00.000Z")
            try await log.append(topic: Topics.checkpoints, partition: 0,
                                 records: [OutgoingRecord(key: Checkpoint.key(topic: "c", partition: 0), value: try CanonicalJSON.encode(own))])
            let untrusted = try await ChainVerifier(log: log, trusted: trusted, checkKeys: false).verify(topic: "c")
            #expect(untrusted.breaks.first?.problem.contains("not trusted") == true)
        }
    }
}
