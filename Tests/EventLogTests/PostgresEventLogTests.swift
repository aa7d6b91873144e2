import EventLog
import Events
import Foundation
import PostgresNIO
import Testing
import TestSupport

/// The log contract, run against the embedded default on a real Postgres (started by ops/test).
@Suite struct PostgresEventLogTests {
    func withLog(partitions: Int = 4, _ body: (PostgresEventLog, Database) async throws -> Void) async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_log_test")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics([TopicSpec(name: "t", partitions: partitions, chained: false),
                                    TopicSpec(name: "c", partitions: partitions, chained: true),
                                    TopicSpec(name: Topics.checkpoints, partitions: partitions, chained: false)])
        do { try await body(log, database) } catch { log.close(); await database.close(); throw error }
        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: TestEnvironment.logger)
    }

    func records(_ values: [String]) -> [OutgoingRecord] { values.map { OutgoingRecord(key: "k", value: $0) } }

    @Test func appendsGetDenseOffsetsAndReadBackInOrder() async throws {
        try await withLog { log, _ in
            #expect(try await log.append(topic: "t", partition: 1, records: records(["a", "b"])) == 0)
            #expect(try await log.append(topic: "t", partition: 1, records: records(["c"])) == 2)
            #expect(try await log.append(topic: "t", partition: 2, records: records(["x"])) == 0)
            let read = try await log.read(topic: "t", partition: 1, from: 0, limit: 10)
            #expect(read.map(\.offset) == [0, 1, 2])
            #expect(read.map(\.value) == ["a", "b", "c"])
            #expect(try await log.read(topic: "t", partition: 1, from: 1, limit: 1).map(\.value) == ["b"])
            #expect(try await log.endOffset(topic: "t", partition: 1) == 3)
        }
    }

    @Test func expectedOffsetFencesAStaleWriter() async throws {
        try await withLog { log, _ in
            try await log.append(topic: "t", partition: 0, records: records(["a", "b", "c"]))
            await #expect(throws: EventLogError.offsetMismatch(topic: "t", partition: 0, expected: 1, actual: 3)) {
                try await log.append(topic: "t", partition: 0, records: records(["late"]), expectedNextOffset: 1)
            }
            #expect(try await log.append(topic: "t", partition: 0, records: records(["d"]), expectedNextOffset: 3) == 3)
            #expect(try await log.endOffset(topic: "t", partition: 0) == 4)
        }
    }

    @Test func concurrentAppendersNeverLeaveGaps() async throws {
        try await withLog { log, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<16 {
                    group.addTask {
                        for i in 0..<25 { try await log.append(topic: "t", partition: 3, records: records(["\(writer)-\(i)"])) }
                    }
                }
                try await group.waitForAll()
            }
            let all = try await log.read(topic: "t", partition: 3, from: 0, limit: 1000)
            #expect(all.map(\.offset) == Array(0..<400))
            #expect(Set(all.map(\.value)).count == 400)
        }
    }

    /// A record whose transaction commits late must not be skipped by a reader: offsets are handed out under the
    /// partition lock, so a later writer waits and commits after it, and the reader sees them in offset order.
    @Test func aLateCommitIsNeverSkipped() async throws {
        try await withLog { log, database in
            let slow = try await database.dedicatedConnection()
            try await slow.query("BEGIN", logger: database.logger)
            try await slow.query("SELECT wharf_log.append('t', 0, NULL, ARRAY['k'], ARRAY['slow'])", logger: database.logger)
            let fast = Task { try await log.append(topic: "t", partition: 0, records: records(["fast"])) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await log.read(topic: "t", partition: 0, from: 0, limit: 10).isEmpty, "nothing is visible before the first commit")
            try await slow.query("COMMIT", logger: database.logger)
            #expect(try await fast.value == 1)
            let read = try await log.read(topic: "t", partition: 0, from: 0, limit: 10)
            #expect(read.map(\.value) == ["slow", "fast"])
            #expect(read.map(\.offset) == [0, 1])
            try await slow.close()
        }
    }

    @Test func waitWakesOnAnotherProcessesAppend() async throws {
        try await withLog { log, database in
            let other = try await PostgresEventLog.open(database: database, listen: false)
            let clock = ContinuousClock()
            let start = clock.now
            async let wake: Void = log.waitForRecords(topic: "t", partition: 2, from: 0, timeout: .seconds(10))
            try await Task.sleep(for: .milliseconds(100))
            try await other.append(topic: "t", partition: 2, records: records(["x"]))
            await wake
            #expect(clock.now - start < .seconds(5), "LISTEN/NOTIFY woke the waiter, not the timeout")
        }
    }

    @Test func partitionCountCannotChange() async throws {
        try await withLog(partitions: 4) { log, _ in
            await #expect(throws: EventLogError.partitionCountMismatch(topic: "t", existing: 4, requested: 8)) {
                try await log.ensureTopics([TopicSpec(name: "t", partitions: 8, chained: false)])
            }
        }
    }

    @Test func verifierFindsAlteredAndRemovedRecords() async throws {
        try await withLog { log, database in
            for p in 0..<4 { try await log.append(topic: "c", partition: p, records: records((0..<5).map { "{\"n\":\(p * 10 + $0)}" })) }
            let clean = try await ChainVerifier(log: log).verify(topic: "c")
            #expect(clean.ok && clean.recordsChecked == 20)

            try await database.client.query(#"UPDATE wharf_log.records SET value = '{"n":99}' WHERE topic = 'c' AND partition = 2 AND "offset" = 3"#)
            let altered = try await ChainVerifier(log: log).verify(topic: "c")
            #expect(altered.breaks.count == 1)
            #expect(altered.breaks.first?.partition == 2 && altered.breaks.first?.offset == 3)

            try await database.client.query(#"DELETE FROM wharf_log.records WHERE topic = 'c' AND partition = 1 AND "offset" = 4"#)
            let removed = try await ChainVerifier(log: log).verify(topic: "c")
            #expect(removed.breaks.map(\.partition) == [1, 2])
            #expect(removed.breaks.first?.offset == 4)
        }
    }

    @Test func oneOwnerPerPartitionAndTakeover() async throws {
        try await withLog { log, _ in
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

    /// A chain rewritten and re-hashed from some offset on is internally consistent; only the signed checkpoint
    /// exposes it. Removing checkpoints or records behind one is caught too.
    @Test func signedCheckpointsExposeARewrittenChain() async throws {
        try await withLog { log, database in
            let signer = CheckpointSigner(privateKey: .init())
            var trusted = TrustedKeys()
            trusted.keys[signer.keyId] = signer.privateKey.publicKey
            try await log.append(topic: "c", partition: 0, records: records((0..<10).map { "{\"n\":\($0)}" }))
            let head = try #require(try await log.read(topic: "c", partition: 0, from: 7, limit: 1).first)
            let checkpoint = try signer.sign(topic: "c", partition: 0, offset: 7, hash: head.hash!)
            try await log.append(topic: Topics.checkpoints, partition: 0,
                                 records: [OutgoingRecord(key: Checkpoint.key(topic: "c", partition: 0), value: try CanonicalJSON.encode(checkpoint))])
            let clean = try await ChainVerifier(log: log, trusted: trusted, maxCheckpointGap: 8).verify(topic: "c")
            #expect(clean.ok && clean.checkpointsChecked == 1, "\(clean.breaks)")

            // The attacker rewrites offsets 3... with valid hashes, using the store's own append.
            try await database.client.query(#"DELETE FROM wharf_log.records WHERE topic = 'c' AND partition = 0 AND "offset" >= 3"#)
            try await database.client.query(#"UPDATE wharf_log.partitions p SET next_offset = 3, last_hash = r.hash FROM wharf_log.records r WHERE p.topic = 'c' AND p.partition = 0 AND r.topic = 'c' AND r.partition = 0 AND r."offset" = 2"#)
            try await log.append(topic: "c", partition: 0, records: records((3..<10).map { "{\"n\":\($0 * 100)}" }))
            let chainOnly = try await ChainVerifier(log: log).verify(topic: "c")
            #expect(chainOnly.ok == false, "the checkpoint hash is checked even without trusted keys")
            let rewritten = try await ChainVerifier(log: log, trusted: trusted).verify(topic: "c")
            #expect(rewritten.breaks.first?.offset == 7)
            #expect(rewritten.breaks.first?.problem.contains("rewritten") == true)

            // Dropping the checkpoint hides the rewrite from the hashes, but not from the gap rule.
            try await database.client.query("DELETE FROM wharf_log.records WHERE topic = 'checkpoints'")
            let gap = try await ChainVerifier(log: log, trusted: trusted, maxCheckpointGap: 8).verify(topic: "c")
            #expect(gap.breaks.first?.problem.contains("checkpoints were removed") == true)

            // A checkpoint signed by another key does not verify.
            let forger = CheckpointSigner(privateKey: .init())
            var forged = try forger.sign(topic: "c", partition: 0, offset: 5, hash: try #require(try await log.read(topic: "c", partition: 0, from: 5, limit: 1).first?.hash))
            forged.keyId = signer.keyId
            try await log.append(topic: Topics.checkpoints, partition: 0,
                                 records: [OutgoingRecord(key: Checkpoint.key(topic: "c", partition: 0), value: try CanonicalJSON.encode(forged))])
            let invalid = try await ChainVerifier(log: log, trusted: trusted).verify(topic: "c")
            #expect(invalid.breaks.first?.problem.contains("signature is invalid") == true)

            // A checkpoint signed with the forger's own key is not trusted either.
            try await database.client.query("DELETE FROM wharf_log.records WHERE topic = 'checkpoints'")
            let own = try forger.sign(topic: "c", partition: 0, offset: 5, hash: forged.hash)
            try await log.append(topic: Topics.checkpoints, partition: 0,
                                 records: [OutgoingRecord(key: Checkpoint.key(topic: "c", partition: 0), value: try CanonicalJSON.encode(own))])
            let untrusted = try await ChainVerifier(log: log, trusted: trusted).verify(topic: "c")
            #expect(untrusted.breaks.first?.problem.contains("not trusted") == true)
        }
    }
}
