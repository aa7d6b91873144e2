import EventLog
import Events
import Foundation
@testable import Server
import Testing
import TestSupport

/// The gateway's group commit on the real Postgres log: concurrent appends share commits, every one gets its own
/// offset, and a group that fails appends none of its records.
@Suite struct CommandGroupCommitTests {
    private func withLog(_ body: (PostgresEventLog) async throws -> Void) async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_group_commit")
        let log = try await PostgresEventLog.open(database: database)
        do {
            try await log.ensureTopics(TopicSpec.spine(partitions: 4))
            try await body(log)
        } catch {
            log.close(); await database.close(); throw error
        }
        log.close()
        await database.close()
        try? await Database.dropScratch(database.settings, logger: TestEnvironment.logger)
    }

    @Test func concurrentAppendsShareCommitsAndEachGetsItsOffset() async throws {
        try await withLog { log in
            let group = CommandGroupCommit(log: log)
            let count = 200
            let offsets = try await withThrowingTaskGroup(of: (Int, Int64).self) { tasks in
                for i in 0..<count {
                    tasks.addTask { (i, try await group.append(OutgoingRecord(key: "k\(i)", value: "v\(i)"), partition: i % 4)) }
                }
                return try await tasks.reduce(into: [Int: Int64]()) { $0[$1.0] = $1.1 }
            }
            let stats = group.drainStats()
            #expect(stats.records == count)
            #expect(stats.appends < count, "200 appends at once formed no group: \(stats.appends) commits")
            for p in 0..<4 {
                let stored = try await log.read(topic: Topics.commands, partition: p, from: 0, limit: 1000)
                #expect(stored.map(\.offset) == Array(0..<Int64(count / 4)), "partition \(p): dense, none lost")
                // Each caller's offset holds its own record.
                for record in stored {
                    let i = Int(record.value.dropFirst())!
                    #expect(offsets[i] == record.offset && i % 4 == p)
                }
            }
        }
    }

    @Test func aGroupThatFailsAppendsNothing() async throws {
        try await withLog { log in
            let group = CommandGroupCommit(log: log)
            // Partition 9 does not exist; the records that share its commit fail with it, and none is stored.
            let results = await withTaskGroup(of: Bool.self) { tasks in
                for i in 0..<20 {
                    tasks.addTask { (try? await group.append(OutgoingRecord(key: "k", value: "v\(i)"), partition: i == 0 ? 9 : 1)) != nil }
                }
                return await tasks.reduce(into: [Bool]()) { $0.append($1) }
            }
            let stored = try await log.read(topic: Topics.commands, partition: 1, from: 0, limit: 100, includeChain: true)
            let appended = results.filter { $0 }.count
            #expect(stored.count == appended, "what was acknowledged is what is stored")
            #expect(appended < 20, "the append to a missing partition failed")
            // Later appends go on.
            #expect(try await group.append(OutgoingRecord(key: "k", value: "after"), partition: 1) == Int64(appended))
        }
    }
}
