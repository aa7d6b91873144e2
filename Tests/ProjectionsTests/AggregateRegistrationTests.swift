import Commands
import EventLog
import Events
import Foundation
import Projections
import Testing
import TestSupport

/// A kind registered only here (TestCounter) is decided, projected and replayed by the generic processor and
/// projector on a real Postgres, with no edit outside its own files.
@Suite struct AggregateRegistrationTests {
    let partitions = 4

    init() throws { try Aggregates.register(TestCounterAggregate.self) }

    func record(_ id: String, _ c: Command) throws -> (Int, OutgoingRecord) {
        let envelope = CommandEnvelope(id: id, actor: "user:test", time: "2026-11-30T10:00:00.000Z", correlationId: id, command: c)
        return (Partitioner.partition(for: envelope.aggregate, partitions: partitions),
                OutgoingRecord(key: envelope.aggregate, value: try CanonicalJSON.encode(envelope)))
    }

    func increment(_ id: String, _ name: String, by: Int) throws -> (Int, OutgoingRecord) {
        try record(id, Command(IncrementTestCounter(name: name, by: by)))
    }

    @Test func aTestOnlyAggregateIsDecidedProjectedAndReplayed() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_agg_test")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: partitions))
        try await Projector.prepare(database: database)
        let logger = TestEnvironment.logger
        var processor = Task { try await CommandProcessor.consumer(log: log, partitions: partitions, logger: logger).run() }
        let projector = Task { try await Projector.consumer(log: log, database: database, logger: logger).run() }

        var commands = [
            try increment("c-1", "apples", by: 2), try increment("c-2", "apples", by: 3), try increment("c-3", "pears", by: 5),
            try increment("c-4", "apples", by: 0), try increment("c-5", "pears", by: 999),
            try record("s-1", Command(CreateService(name: "shop", businessLine: "retail", image: "reg.local/shop:1", replicas: 1))),
        ]
        // A command of a kind nobody registered: its record cannot be decoded, and the refusal is on record.
        let orphan = #"{"id":"o-1","type":"IncrementOrphan","schemaVersion":1,"aggregate":"orphan/x","actor":"user:test","time":"2026-11-30T10:00:00.000Z","correlationId":"o-1","payload":{}}"#
        commands.append((Partitioner.partition(for: "orphan/x", partitions: partitions), OutgoingRecord(key: "orphan/x", value: orphan)))
        for (p, r) in commands { try await log.append(topic: Topics.commands, partition: p, records: [r]) }
        try await waitFor(events: Int64(commands.count), log: log, database: database)

        let counters = ["test_counters": "name", "audit": "command_id"]
        var live = try await ReadModelDump.dump(database, tables: counters)
        #expect(live["test_counters"] == [#"{"name": "apples", "total": 5, "increments": 2}"#, #"{"name": "pears", "total": 5, "increments": 1}"#])
        let audit = try await ReadModelQueries(database: database).audit(AuditFilter())
        func outcome(_ id: String) -> String { audit.first { $0.commandId == id }.map { "\($0.outcome) \($0.code ?? "") \($0.reason ?? "")" } ?? "missing" }
        #expect(outcome("c-4") == "rejected invalid by: must be positive")
        #expect(outcome("c-5") == "rejected conflict counter pears would pass 1000")
        #expect(outcome("s-1").hasPrefix("accepted"))
        let orphanPartition = commands.last!.0
        let orphanOffset = commands.dropLast().filter { $0.0 == orphanPartition }.count
        #expect(outcome("undecodable:\(orphanPartition):\(orphanOffset)").hasPrefix("rejected invalid command record could not be decoded"), "\(audit.map(\.commandId))")

        // A new processor folds the counter's state from the log and continues from it.
        processor.cancel(); _ = await processor.result
        processor = Task { try await CommandProcessor.consumer(log: log, partitions: partitions, logger: logger).run() }
        let (p, r) = try increment("c-6", "apples", by: 1)
        try await log.append(topic: Topics.commands, partition: p, records: [r])
        try await waitFor(events: Int64(commands.count + 1), log: log, database: database)
        live = try await ReadModelDump.dump(database, tables: counters)
        #expect(live["test_counters"]?.first == #"{"name": "apples", "total": 6, "increments": 3}"#)

        // Replay from offset zero gives the same rows.
        try await ProjectionRebuild(log: log, database: database).run()
        #expect(try await ReadModelDump.dump(database, tables: counters) == live)

        processor.cancel(); projector.cancel()
        _ = await processor.result; _ = await projector.result
        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
    }

    @Test func aKeyOfAnUnregisteredKindIsRefusedNeverHandedToAnotherDecider() throws {
        struct OrphanCommand: CommandPayload {
            static let type = "OrphanCommand"
            var aggregate: String { "orphan/1" }
        }
        guard case .failure(let rejection) = AggregateStates().decide(Command(OrphanCommand())) else {
            Issue.record("an unregistered kind was decided"); return
        }
        #expect(rejection.code == .invalid && rejection.reason.contains("no aggregate kind is registered for \"orphan/1\""))
        #expect(CommandValidation.validate(Command(OrphanCommand())).map(\.field) == ["aggregate"])
    }

    @Test func clashingRegistrationsAreRefused() throws {
        enum SamePrefix: AggregateKind {
            static let kind = ServiceAggregate.kind
            static let commandTypes: [any CommandPayload.Type] = []
            static let eventTypes: [any EventPayload.Type] = []
        }
        enum SameTypeName: AggregateKind {
            static let kind = "clash"
            static let commandTypes: [any CommandPayload.Type] = [IncrementTestCounter.self]
            static let eventTypes: [any EventPayload.Type] = []
        }
        #expect(throws: Aggregates.RegistrationConflict.self) { try Aggregates.register(SamePrefix.self) }
        #expect(throws: Aggregates.RegistrationConflict.self) { try Aggregates.register(SameTypeName.self) }
        #expect(Aggregates.kind(ofKey: "clash/x") == nil, "a refused kind leaves nothing behind")
        try Aggregates.register(TestCounterAggregate.self)  // registering the same kind again is harmless
    }

    private func waitFor(events: Int64, log: PostgresEventLog, database: Database) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        func end(_ topic: String) async throws -> [Int64] {
            var out: [Int64] = []
            for p in 0..<partitions { out.append(try await log.endOffset(topic: topic, partition: p)) }
            return out
        }
        while ContinuousClock.now < deadline {
            let ends = try await end(Topics.events)
            let progress = try await ReadModelQueries(database: database).progress()
            if ends.reduce(0, +) >= events, (0..<partitions).allSatisfy({ (progress[$0] ?? 0) >= ends[$0] }) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the processor and projector did not reach \(events) events in 30 s")
    }
}
