import Commands
import EventLog
import Events
import Foundation
import Logging
import PostgresNIO
import Testing
import TestSupport
import Workers

/// The nginx worker signs a version for the agents only once a checkpoint of the installation's key covers its
/// event; the processor signs a batch holding one as soon as it commits. Real Postgres and processor at production
/// parameters (1,000 events / 10 s); `nginx -t` is a stand-in that passes (what it checks is NginxProcessTests').
@Suite struct NginxVersionCoverageTests {
    @Test(.timeLimit(.minutes(1))) func onlyVersionsACheckpointVouchesForAreSigned() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_coverage_test")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: 1))
        let signer = CheckpointSigner(privateKey: .init())
        let logger = TestEnvironment.logger
        let processor = CommandPartitionProcessor(log: log, partition: 0, partitions: 1, logger: logger, signer: signer)
        var next = try await processor.start()
        func decide(_ id: String, _ command: Command) async throws -> LogPosition {
            let envelope = CommandEnvelope(id: id, actor: "user:t", time: WharfTime.format(Date()), correlationId: id, command: command)
            try await log.append(topic: Topics.commands, partition: 0, records: [OutgoingRecord(key: command.aggregate, value: try CanonicalJSON.encode(envelope))])
            let batch = try await log.read(topic: Topics.commands, partition: 0, from: next, limit: 10)
            try await processor.handle(batch)
            try await processor.idle()
            next = batch.last!.offset + 1
            return LogPosition(partition: 0, offset: try await log.endOffset(topic: Topics.events, partition: 0) - 1)
        }
        func covered(_ position: LogPosition) async throws -> Bool {
            try await log.checkpoints(of: Topics.events, partition: 0).checkpoints.contains { $0.offset >= position.offset }
        }
        // The first tail after a start is signed at once; then a plain event waits for the interval, a version does not.
        _ = try await decide("c1", Command(CreateService(name: "a", businessLine: "shop", image: "r.example.com/a:1", replicas: 1)))
        let plain = try await decide("c2", Command(CreateService(name: "b", businessLine: "shop", image: "r.example.com/b:1", replicas: 1)))
        #expect(try await !covered(plain), "a plain event is signed within the interval, not at once")
        let position = try await decide("c3", Command(CreateNginxCluster(name: "edge", environment: .prod)))
        #expect(try await covered(position), "a batch with a version is signed as soon as it commits")

        let stored = try #require(try await log.read(topic: Topics.events, partition: 0, from: position.offset, limit: 1).first)
        let event = try EventEnvelope.decodeStored(stored.value)
        #expect(event.event.as(NginxConfigVersionCreated.self) != nil, "\(stored.value)")
        let scratch = try NginxProcessTests.Scratch()
        defer { scratch.remove() }
        let validator = NginxConfigValidator(nginx: NginxCommandLine(binary: try scratch.script("nginx", "exit 0")), scratchRoot: scratch.path,
                                             logger: logger, signer: signer, coverage: SignedCoverage(log: log, publicKey: signer.privateKey.publicKey),
                                             coverageTimeout: .seconds(3))
        let genuine = try await validator.react(to: event, at: position)
        let record = try #require(genuine.first?.as(RecordNginxValidation.self))
        #expect(record.valid && record.signature != nil)

        // A version event written through the store's own append function: chained by the store, covered by nothing.
        let forgedValue = stored.value.replacingOccurrences(of: #""version":1"#, with: #""version":2"#)
        #expect(forgedValue != stored.value)
        try await database.client.query("""
            SELECT wharf_log.append('events', 0, NULL::bigint, ARRAY[\(stored.key)]::text[], ARRAY[\(forgedValue)]::text[])
            """)
        let forged = try EventEnvelope.decodeStored(forgedValue)
        let forgedAt = LogPosition(partition: 0, offset: position.offset + 1)
        await #expect { _ = try await validator.react(to: forged, at: forgedAt) } throws: { "\($0)".contains("not vouched for by a checkpoint") }
        // Nor does a genuine checkpoint after it vouch for it: the processor, restarting, refuses the tail.
        let restarted = CommandPartitionProcessor(log: log, partition: 0, partitions: 1, logger: logger, signer: signer)
        await #expect { _ = try await restarted.start() } throws: { "\($0)".contains("written around the processor") }

        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
    }
}
