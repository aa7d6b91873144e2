import Commands
import EventLog
import Events
import Foundation
import PostgresNIO
import Projections
import Testing
import TestSupport

/// The commands of a log written by an earlier main (Tests/Fixtures/main-log-v1) decide to the same event bytes,
/// the same hash chain and the same read models under today's code: the wire format did not move. The one decision
/// that changed on purpose since (a no-op was a 409 conflict, now it is `CommandUnchanged`, see DESIGN.md "No-ops")
/// is allowed only exactly: same envelope, command type and reason; the expected chain is recomputed over it.
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

        var nowUnchanged: Set<String> = []
        for p in 0..<partitions {
            let expected = events.filter { $0.partition == p }.sorted { $0.offset < $1.offset }
            let replayed = try await log.read(topic: Topics.events, partition: p, from: 0, limit: expected.count + 10, includeChain: true)
            #expect(replayed.count == expected.count, "events in partition \(p)")
            var head = HashChain.genesis
            for (got, want) in zip(replayed, expected) {
                #expect(got.offset == want.offset && got.key == want.key, "events/\(p) offset \(want.offset)")
                var wantValue = want.value
                if got.value != want.value, let commandId = try Self.noOpNowUnchanged(then: want.value, now: got.value) {
                    nowUnchanged.insert(commandId)
                    wantValue = got.value
                }
                #expect(got.value == wantValue, "events/\(p) offset \(want.offset): the bytes differ")
                // The fixture's own chain holds where nothing changed; past a changed decision it is recomputed.
                if nowUnchanged.isEmpty { #expect(HashChain.next(previous: head, value: want.value) == want.hash, "the fixture's chain at \(want.offset)") }
                #expect(got.prevHash == head, "events/\(p) offset \(want.offset): the chain differs")
                head = HashChain.next(previous: head, value: wantValue)
                #expect(got.hash == head, "events/\(p) offset \(want.offset): the chain differs")
            }
        }
        #expect(nowUnchanged.count == 1, "the fixture's one no-op (a scale to the replicas cart had) is now unchanged: \(nowUnchanged)")

        for table in Self.tables {
            let want = try String(contentsOf: Self.directory.appendingPathComponent("\(table).jsonl"), encoding: .utf8)
                .split(separator: "\n").map { row in
                    // The audit row of a no-op now says unchanged (with the same reason), not a rejected conflict.
                    guard table == "audit", nowUnchanged.contains(where: { row.contains(#""command_id":"\#($0)""#) }) else { return String(row) }
                    return row.replacingOccurrences(of: #""outcome":"rejected","code":"conflict""#, with: #""outcome":"unchanged","code":null"#)
                }
            let got = try await Self.rows(of: table, in: database)
            #expect(got == want, "\(table) differs:\nonly now: \(Set(got).subtracting(want))\nonly then: \(Set(want).subtracting(got))")
        }

        processor.cancel(); projector.cancel()
        _ = await processor.result; _ = await projector.result
        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: logger)
    }

    /// The command id when `then` is a 409 conflict that `now` decides as unchanged: the same envelope, command type and
    /// reason, only the event differs. Nil for any other difference (which the caller reports).
    static func noOpNowUnchanged(then: String, now: String) throws -> String? {
        let (old, new) = (try CanonicalJSON.decode(EventEnvelope.self, from: then), try CanonicalJSON.decode(EventEnvelope.self, from: now))
        guard let rejected = old.event.as(CommandRejected.self), rejected.code == .conflict, let unchanged = new.event.as(CommandUnchanged.self),
              unchanged.commandType == rejected.commandType, unchanged.reason == rejected.reason else { return nil }
        var same = new
        same.event = old.event
        return same == old ? old.commandId : nil
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
