import Commands
import EventLog
import Events
import Foundation
import Projections
import Testing
import TestSupport

/// Processor + projector on a real Postgres: the read models equal what a rebuild from offset zero produces.
@Suite struct ProjectionTests {
    let partitions = 4

    func command(_ id: String, _ c: Command) throws -> (Int, OutgoingRecord) {
        let envelope = CommandEnvelope(id: id, actor: "user:test", time: WharfTime.format(Date()), correlationId: id, command: c)
        return (Partitioner.partition(for: envelope.aggregate, partitions: partitions),
                OutgoingRecord(key: envelope.aggregate, value: try CanonicalJSON.encode(envelope)))
    }

    func totalEnd(_ log: PostgresEventLog, _ topic: String) async throws -> Int64 {
        var total: Int64 = 0
        for p in 0..<partitions { total += try await log.endOffset(topic: topic, partition: p) }
        return total
    }

    @Test func liveProjectionEqualsRebuildRowForRow() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_proj_test")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: partitions))
        try await Projector.prepare(database: database)
        let logger = TestEnvironment.logger
        let signer = CheckpointSigner(privateKey: .init())
        let processor = Task {
            try await CommandProcessor.consumer(log: log, partitions: partitions, logger: logger, batchSize: 37, signer: signer, checkpointEvery: 5).run()
        }
        let projector = Task { try await Projector.consumer(log: log, database: database, logger: logger, batchSize: 23).run() }

        var commands: [(Int, OutgoingRecord)] = []
        for s in 0..<20 {
            let name = "svc-\(s)"
            commands.append(try command("c-\(s)", Command(CreateService(name: name, businessLine: "bl\(s % 3)", image: "reg.local/a/\(name):1", replicas: 1))))
            commands.append(try command("s-\(s)", Command(ScaleService(name: name, replicas: 3))))
            commands.append(try command("u-\(s)", Command(UpgradeServiceImage(name: name, image: "reg.local/a/\(name):2"))))
            commands.append(try command("r-\(s)", Command(RollbackService(name: name, revision: 1))))
            commands.append(try command("bad-\(s)", Command(RollbackService(name: name, revision: 99))))
            if s % 4 == 0 { commands.append(try command("d-\(s)", Command(DestroyService(name: name)))) }
        }
        commands.append(try command("ghost", Command(ScaleService(name: "ghost", replicas: 1))))
        commands.append(try command("s-1", Command(ScaleService(name: "svc-1", replicas: 7))))  // a repeated command id
        for (p, record) in commands { try await log.append(topic: Topics.commands, partition: p, records: [record]) }

        let expectedEvents = Int64(commands.count - 1)  // the repeated command id is never decided twice
        let deadline = ContinuousClock.now + .seconds(30)
        while try await totalEnd(log, Topics.events) < expectedEvents, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await totalEnd(log, Topics.events) == expectedEvents)
        let queries = ReadModelQueries(database: database)
        while ContinuousClock.now < deadline {
            let progress = try await queries.progress()
            var caughtUp = true
            for p in 0..<partitions where (progress[p] ?? 0) < (try await log.endOffset(topic: Topics.events, partition: p)) { caughtUp = false }
            if caughtUp { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let live = try await ReadModelDump.dump(database)
        #expect(live["services"]?.count == 20)
        #expect(live["service_revisions"]?.count == 60)
        #expect(live["audit"]?.count == commands.count - 1)

        let svc = try #require(try await queries.service(named: "svc-1"))
        #expect(svc.image == "reg.local/a/svc-1:1" && svc.replicas == 3 && svc.revision == 3 && svc.status == "active")
        #expect(try await queries.service(named: "svc-0")?.status == "destroyed")
        let rejected = try await queries.audit(AuditFilter(aggregate: "service/svc-2")).filter { $0.outcome == "rejected" }
        #expect(rejected.map(\.commandType) == ["RollbackService"])
        #expect(rejected.first?.reason?.contains("no revision 99") == true)

        var trusted = TrustedKeys()
        trusted.keys[signer.keyId] = signer.privateKey.publicKey
        let verified = try await ChainVerifier(log: log, trusted: trusted, maxCheckpointGap: 5 + 37).verify(topic: Topics.events)
        #expect(verified.ok, "\(verified.breaks)")
        #expect(verified.checkpointsChecked >= 4)

        try await ProjectionRebuild(log: log, database: database).run()
        let rebuilt = try await ReadModelDump.dump(database)
        #expect(rebuilt == live)

        processor.cancel(); projector.cancel()
        _ = await processor.result; _ = await projector.result
        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
    }
}
