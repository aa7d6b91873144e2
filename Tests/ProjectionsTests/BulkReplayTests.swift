import Commands
import EventLog
import Events
import Foundation
import Projections
import Testing
import TestSupport

/// A rebuild loads from offset zero in bulk (audit rows by COPY, batches cut at command boundaries). Its rows must
/// equal the live projector's, with commands whose events straddle any batch cut and text that COPY has to escape.
@Suite struct BulkReplayTests {
    let partitions = 3
    static let tables = ReadModelDump.tables.merging(["nginx_clusters": "name", "nginx_versions": "cluster, version"]) { a, _ in a }

    @Test func aBulkRebuildWithTinyBatchesEqualsTheLiveReadModels() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_bulk_test")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: partitions))
        try await Projector.prepare(database: database)
        let logger = TestEnvironment.logger
        let processor = Task { try await CommandProcessor.consumer(log: log, partitions: partitions, logger: logger, batchSize: 7).run() }
        let projector = Task { try await Projector.consumer(log: log, database: database, logger: logger, batchSize: 5).run() }

        // Actors with every byte COPY's text format escapes; nginx creates with a site give two events each.
        let actor = "user:tab\there\\back\nline\rcr"
        var records: [(Int, OutgoingRecord)] = []
        func add(_ id: String, _ command: Command) throws {
            let e = CommandEnvelope(id: id, actor: actor, time: WharfTime.format(Date()), correlationId: id, command: command)
            records.append((Partitioner.partition(for: e.aggregate, partitions: partitions),
                            OutgoingRecord(key: e.aggregate, value: try CanonicalJSON.encode(e))))
        }
        let upstream = NginxUpstream(name: "web", servers: [NginxUpstreamServer(address: "10.0.0.1:8080")])
        for i in 0..<12 {
            let site = NginxSite(name: "shop", serverNames: ["shop\(i).example.com"], listen: 8080, locations: [NginxLocation(path: "/", upstream: "web")])
            try add("n-\(i)", Command(CreateNginxCluster(name: "edge-\(i)", environment: .prod, upstreams: [upstream], sites: [site])))
            try add("s-\(i)", Command(CreateService(name: "svc-\(i)", businessLine: "bl", image: "reg.local/a/svc:1", replicas: 1)))
            try add("x-\(i)", Command(ScaleService(name: "missing-\(i)", replicas: 2)))  // rejected: a reason in the audit
        }
        for (p, record) in records { try await log.append(topic: Topics.commands, partition: p, records: [record]) }

        let deadline = ContinuousClock.now + .seconds(30)
        func caughtUp() async throws -> Bool {
            let progress = try await ReadModelQueries(database: database).progress()
            var events: Int64 = 0
            for p in 0..<partitions {
                let end = try await log.endOffset(topic: Topics.events, partition: p)
                events += end
                if (progress[p] ?? 0) < end { return false }
            }
            return events == 48  // 12 x (2 + 1 + 1)
        }
        while try await !caughtUp(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await caughtUp())
        let live = try await ReadModelDump.dump(database, tables: Self.tables)
        #expect(live["audit"]?.count == 36)
        #expect(live["nginx_versions"]?.count == 12)
        #expect(live["audit"]?.allSatisfy { $0.contains(#""actor": "user:tab\there\\back\nline\rcr""#) } == true)

        let replayed = try await ProjectionRebuild(log: log, database: database, batchSize: 2).run()
        #expect(replayed == 48)
        #expect(try await ReadModelDump.dump(database, tables: Self.tables) == live)

        processor.cancel(); projector.cancel()
        _ = await processor.result; _ = await projector.result
        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
    }
}
