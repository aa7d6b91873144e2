import Commands
import EventLog
import Events
import Foundation
import PostgresNIO
import Testing
import TestSupport
import Workers

/// A test reactor (not a fake of any outside system): every new service with one replica gets a second one.
struct SecondReplica: EventReactor {
    let name = "second-replica"
    func react(to event: EventEnvelope, at position: LogPosition) async throws -> [Command] {
        guard let created = event.event.as(ServiceCreated.self), created.replicas == 1 else { return [] }
        return [Command(ScaleService(name: created.name, replicas: 2))]
    }
}

/// Workers report back through commands as "system:<name>", and a redelivered event never applies twice.
@Suite struct WorkerRuntimeTests {
    let partitions = 2

    @Test func workersActThroughCommandsAndRedeliveryIsHarmless() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_worker_test")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: partitions))
        try await WorkerRuntime.prepare(database: database)
        let logger = TestEnvironment.logger
        let processor = Task { try await CommandProcessor.consumer(log: log, partitions: partitions, logger: logger).run() }

        for name in ["alpha", "beta", "gamma"] {
            let envelope = CommandEnvelope(id: "create-\(name)", actor: "user:test", time: WharfTime.format(Date()), correlationId: name,
                                           command: Command(CreateService(name: name, businessLine: "t", image: "a:1", replicas: 1)))
            try await log.append(topic: Topics.commands, partition: Partitioner.partition(for: envelope.aggregate, partitions: partitions),
                                 records: [OutgoingRecord(key: envelope.aggregate, value: try CanonicalJSON.encode(envelope))])
        }

        func scaledEvents() async throws -> [EventEnvelope] {
            var out: [EventEnvelope] = []
            for p in 0..<partitions {
                for r in try await log.read(topic: Topics.events, partition: p, from: 0, limit: 1000) {
                    let e = try EventEnvelope.decodeStored(r.value)
                    if e.event.payload is ServiceScaled { out.append(e) }
                }
            }
            return out
        }
        func runWorker(until done: () async throws -> Bool) async throws {
            let worker = Task { try await WorkerRuntime.consumer(reactor: SecondReplica(), log: log, database: database, partitions: partitions, authenticator: .ephemeral(), logger: logger).run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while try await !done(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            worker.cancel()
            _ = await worker.result
        }

        try await runWorker { try await scaledEvents().count == 3 }
        let scaled = try await scaledEvents()
        #expect(scaled.count == 3)
        #expect(scaled.allSatisfy { $0.actor == "system:second-replica" && $0.commandType == "ScaleService" })

        // Redeliver everything: the worker forgets its offsets and reacts again; its commands carry the same ids,
        // so the processor decides none of them a second time.
        try await database.client.query("DELETE FROM wharf_workers.offsets")
        var commandsBefore: Int64 = 0
        for p in 0..<partitions { commandsBefore += try await log.endOffset(topic: Topics.commands, partition: p) }
        try await runWorker {
            var total: Int64 = 0
            for p in 0..<partitions { total += try await log.endOffset(topic: Topics.commands, partition: p) }
            return total == commandsBefore + 3
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await scaledEvents().count == 3, "redelivered reactions were not applied twice")

        processor.cancel()
        _ = await processor.result
        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
    }
}
