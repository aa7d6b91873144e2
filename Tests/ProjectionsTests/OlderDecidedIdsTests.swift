import Commands
import EventLog
import Events
import Foundation
import Projections
import Testing
import TestSupport

/// The processor keeps a bounded window of decided command ids; a repeat of an id older than the window is found
/// in the audit read model and not decided again. Without that lookup (the control) it would be.
@Suite struct OlderDecidedIdsTests {
    func run(lookup: Bool) async throws -> (events: Int64, audit: Int) {
        let database = try await TestEnvironment.scratchDatabase("wharf_older_ids")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: 1))
        try await Projector.prepare(database: database)
        let logger = TestEnvironment.logger
        let queries = ReadModelQueries(database: database)
        var older: CommandPartitionProcessor.OlderDecidedLookup?
        if lookup {
            older = { p, ids in try await queries.decidedCommandIds(ids, partition: p) }
        }
        let consumer = CommandProcessor.consumer(log: log, partitions: 1, logger: logger, batchSize: 2, olderDecided: older, decidedWindow: 3)
        let processor = Task { try await consumer.run() }
        let projector = Task { try await Projector.consumer(log: log, database: database, logger: logger).run() }
        func append(_ id: String, _ command: Command) async throws {
            let e = CommandEnvelope(id: id, actor: "user:test", time: WharfTime.format(Date()), correlationId: id, command: command)
            try await log.append(topic: Topics.commands, partition: 0, records: [OutgoingRecord(key: e.aggregate, value: try CanonicalJSON.encode(e))])
        }
        func settle(events: Int64) async throws {
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                let end = try await log.endOffset(topic: Topics.events, partition: 0)
                if end >= events, (try await queries.progress()[0] ?? 0) >= end { return }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        for i in 0..<8 { try await append("c-\(i)", Command(CreateService(name: "svc-\(i)", businessLine: "t", image: "r.example.com/t:1", replicas: 1))) }
        try await settle(events: 8)
        // c-0 left the window of 3 long ago; it comes again (a client retrying after a very long time).
        try await append("c-0", Command(ScaleService(name: "svc-0", replicas: 5)))
        try await append("fresh", Command(ScaleService(name: "svc-1", replicas: 2)))
        try await settle(events: 9)
        try await Task.sleep(for: .milliseconds(300))
        let events = try await log.endOffset(topic: Topics.events, partition: 0)
        let audit = try await queries.audit(AuditFilter(limit: 100)).count
        processor.cancel(); projector.cancel()
        _ = await processor.result; _ = await projector.result
        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
        return (events, audit)
    }

    @Test func aRepeatOlderThanTheWindowIsFoundInTheAuditAndNotDecidedAgain() async throws {
        let with = try await run(lookup: true)
        #expect(with.events == 9 && with.audit == 9, "the old id was skipped, the fresh one decided: \(with)")
        let without = try await run(lookup: false)
        #expect(without.events == 10, "control: without the lookup the old id is decided again: \(without)")
    }
}
