import Commands
import EventLog
import Events
import Foundation
import PostgresNIO
import Projections
import Testing
import TestSupport

/// The commands of a log written by an earlier main (Tests/Fixtures/main-log-v1) decide to the same event bytes,
/// the same hash chain and the same read models under today's code: the wire format did not move.
@Suite struct MainLogFixtureTests {
    struct StoredRecord: Decodable {
        var topic: String
        var partition: Int
        var offset: Int64
        var key: String
        var value: String
        var prevHash: String?
        var hash: String?
    }

    static let directory = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/Fixtures/main-log-v1")
    static let tables = ["services", "service_revisions", "audit", "nginx_clusters", "nginx_versions", "nginx_nodes"]

    @Test func theFormerMainsLogReplaysToTheSameChainAndReadModels() async throws {
        let records = try String(contentsOf: Self.directory.appendingPathComponent("records.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONDecoder().decode(StoredRecord.self, from: Data($0.utf8)) }
        let commands = records.filter { $0.topic == "commands" }, events = records.filter { $0.topic == "events" }
        #expect(commands.count > 100 && events.count > 100, "the fixture holds a real history")
        let partitions = Set(records.map(\.partition)).count

        let database = try await TestEnvironment.scratchDatabase("wharf_fixture_test")
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: 4))
        try await Projector.prepare(database: database)
        for p in 0..<partitions {
            let own = commands.filter { $0.partition == p }.sorted { $0.offset < $1.offset }
            #expect(own.enumerated().allSatisfy { Int64($0.offset) == $0.element.offset }, "dense command offsets in partition \(p)")
            try await log.append(topic: Topics.commands, partition: p, records: own.map { OutgoingRecord(key: $0.key, value: $0.value) })
        }
        let logger = TestEnvironment.logger
        let processor = Task { try await CommandProcessor.consumer(log: log, partitions: 4, logger: logger).run() }
        let projector = Task { try await Projector.consumer(log: log, database: database, logger: logger).run() }
        let deadline = ContinuousClock.now + .seconds(60)
        var caughtUp = false
        while !caughtUp, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            let progress = try await ReadModelQueries(database: database).progress()
            caughtUp = true
            for p in 0..<partitions {
                let expected = Int64(events.filter { $0.partition == p }.count)
                if try await log.endOffset(topic: Topics.events, partition: p) < expected || (progress[p] ?? 0) < expected { caughtUp = false }
            }
        }
        #expect(caughtUp, "processor and projector reached the fixture's end")

        for p in 0..<partitions {
            let expected = events.filter { $0.partition == p }.sorted { $0.offset < $1.offset }
            let replayed = try await log.read(topic: Topics.events, partition: p, from: 0, limit: expected.count + 10, includeChain: true)
            #expect(replayed.count == expected.count, "events in partition \(p)")
            for (got, want) in zip(replayed, expected) {
                #expect(got.offset == want.offset && got.key == want.key, "events/\(p) offset \(want.offset)")
                #expect(got.value == want.value, "events/\(p) offset \(want.offset): the bytes differ")
                #expect(got.hash == want.hash && got.prevHash == want.prevHash, "events/\(p) offset \(want.offset): the chain differs")
            }
        }

        for table in Self.tables {
            let want = try String(contentsOf: Self.directory.appendingPathComponent("\(table).jsonl"), encoding: .utf8)
                .split(separator: "\n").map(String.init)
            let got = try await Self.rows(of: table, in: database)
            #expect(got == want, "\(table) differs:\nonly now: \(Set(got).subtracting(want))\nonly then: \(Set(want).subtracting(got))")
        }

        processor.cancel(); projector.cancel()
        _ = await processor.result; _ = await projector.result
        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
    }

    /// Columns added to a read model since the fixture was made (a layout change); they are left out of the
    /// comparison, and tested where they were added.
    static let addedColumns = ["nginx_versions": ["upstreams", "sites", "signature"], "services": ["secret_env"]]

    /// The same dump as make.sh: `row_to_json` in UTC, sorted bytewise.
    static func rows(of table: String, in database: Database) async throws -> [String] {
        try await database.client.withConnection { c in
            try await c.query("SET TIME ZONE 'UTC'", logger: database.logger)
            var columns: [String] = []
            let names = try await c.query("""
                SELECT column_name FROM information_schema.columns WHERE table_schema = \(ReadModelSchema.live) AND table_name = \(table)
                 ORDER BY ordinal_position
                """, logger: database.logger)
            for try await name in names.decode(String.self) where !(addedColumns[table] ?? []).contains(name) { columns.append("\"\(name)\"") }
            var lines: [String] = []
            let rows = try await c.query(PostgresQuery(unsafeSQL: """
                SELECT row_to_json(r)::text FROM (SELECT \(columns.joined(separator: ", ")) FROM \(ReadModelSchema.live).\(table)) r
                """), logger: database.logger)
            for try await line in rows.decode(String.self) { lines.append(line) }
            return lines.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
    }
}
