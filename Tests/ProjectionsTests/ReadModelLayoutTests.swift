import Commands
import EventLog
import Events
import Foundation
import Logging
import PostgresNIO
import Projections
import Testing
import TestSupport

/// A read model whose layout version changes is rebuilt on its own, beside the live schema, while the others keep
/// being projected and served; the swap brings it to exactly the live checkpoints, so nothing is applied twice.
@Suite struct ReadModelLayoutTests {
    let partitions = 4

    init() throws { try Aggregates.register(TestCounterAggregate.self) }

    @Test(.timeLimit(.minutes(2))) func aLayoutChangeRebuildsOnlyThatReadModelWhileTheOthersServe() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_layout_test")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: partitions))
        #expect(try await Projector.prepare(database: database).isEmpty, "a fresh installation builds every model in place")
        let logger = TestEnvironment.logger
        let processor = Task { try await CommandProcessor.consumer(log: log, partitions: partitions, logger: logger).run() }
        var projector = Task { try await Projector.consumer(log: log, database: database, logger: logger).run() }

        func append(_ id: String, _ command: Command) async throws {
            let envelope = CommandEnvelope(id: id, actor: "user:test", time: "2026-11-30T10:00:00.000Z", correlationId: id, command: command)
            try await log.append(topic: Topics.commands, partition: Partitioner.partition(for: envelope.aggregate, partitions: partitions),
                                 records: [OutgoingRecord(key: envelope.aggregate, value: try CanonicalJSON.encode(envelope))])
        }
        for i in 0..<20 { try await append("inc-\(i)", Command(IncrementTestCounter(name: "c\(i % 5)", by: 1))) }
        for i in 0..<10 { try await append("svc-\(i)", Command(CreateService(name: "svc-\(i)", businessLine: "b", image: "reg.local/s:1", replicas: 1))) }
        try await waitForProjections(log: log, database: database, events: 30)
        let tables = ["test_counters": "name", "services": "name", "audit": "command_id"]
        let before = try await ReadModelDump.dump(database, tables: tables)
        #expect(before["test_counters"]?.count == 5 && before["services"]?.count == 10)

        // The counter model's layout changes (version 2): on the next prepare it gets fresh, empty tables and is not ready.
        projector.cancel(); _ = await projector.result
        let changed = TestCounterReadModel(layoutVersion: 2)
        let models = ReadModels.all.filter { $0.name != changed.name } + [changed]
        let pending = try await Projector.prepare(database: database, models: models)
        #expect(pending.map(\.name) == [changed.name])
        #expect(try await ReadModelDump.dump(database, tables: ["test_counters": "name"])["test_counters"] == [])
        #expect(try await ReadModelDump.dump(database, tables: ["services": "name"]) == ["services": before["services"]!], "the others keep serving")

        // Meanwhile the live projector keeps projecting the ready models and leaves the rebuilding one alone.
        projector = Task { try await Projector.consumer(log: log, database: database, logger: logger).run() }
        for i in 20..<30 { try await append("inc-\(i)", Command(IncrementTestCounter(name: "c\(i % 5)", by: 1))) }
        try await append("svc-10", Command(CreateService(name: "svc-10", businessLine: "b", image: "reg.local/s:1", replicas: 1)))
        try await waitForProjections(log: log, database: database, events: 41)
        #expect(try await ReadModelDump.dump(database, tables: ["test_counters": "name"])["test_counters"] == [], "a model being rebuilt is not written live")
        #expect(try await ReadModelDump.dump(database, tables: ["services": "name"])["services"]?.count == 11)

        // The rebuild replays the log for that model alone and swaps it in at the live checkpoints.
        try await ProjectionRebuild(log: log, database: database, models: [changed]).run()
        for i in 30..<35 { try await append("inc-\(i)", Command(IncrementTestCounter(name: "c\(i % 5)", by: 1))) }
        try await waitForProjections(log: log, database: database, events: 46)
        let counters = try await ReadModelDump.dump(database, tables: ["test_counters": "name"])["test_counters"] ?? []
        #expect(counters == (0..<5).map { #"{"name": "c\#($0)", "total": 7, "increments": 7}"# }, "every increment applied exactly once: \(counters)")
        var ready: [String: Bool] = [:]
        for try await (name, version, isReady) in try await database.client.query("SELECT name, version, ready FROM wharf_read.read_models")
            .decode((String, Int, Bool).self) { ready[name] = isReady && (name != changed.name || version == 2) }
        #expect(ready.values.allSatisfy { $0 } && ready[changed.name] == true, "\(ready)")

        // While a model is not ready its queries refuse to answer from incomplete tables (the API says 503).
        try await database.client.query("UPDATE wharf_read.read_models SET ready = false WHERE name = 'services'")
        try await Task.sleep(for: .milliseconds(1100))
        await #expect(throws: ReadModelRebuilding.self) { try await ReadModelQueries(database: database).services() }
        #expect(try await ReadModelQueries(database: database).audit(AuditFilter()).count >= 46, "the other models still answer")
        try await database.client.query("UPDATE wharf_read.read_models SET ready = true WHERE name = 'services'")

        processor.cancel(); projector.cancel()
        _ = await processor.result; _ = await projector.result
        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
    }

    private func waitForProjections(log: PostgresEventLog, database: Database, events: Int64) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            var ends: [Int64] = []
            for p in 0..<partitions { ends.append(try await log.endOffset(topic: Topics.events, partition: p)) }
            let progress = try await ReadModelQueries(database: database).progress()
            if ends.reduce(0, +) >= events, (0..<partitions).allSatisfy({ (progress[$0] ?? 0) >= ends[$0] }) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("projections did not reach \(events) events")
    }
}
