import EventLog
import Foundation
import Testing
import TestSupport
@testable import Workers

/// A codeflow's `parallelism` holds across nodes: two slot holders (as two nodes would be, each on its own
/// connection) never exceed the count, a freed slot is taken by a waiter, and a holder that dies frees its slot.
@Suite struct CodeflowBuildSlotsTests {
    @Test func slotsLimitBuildsOfOneCodeflowAcrossHolders() async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_build_slots_test")
        defer { Task { await database.close() } }
        let nodeA = CodeflowBuildSlots(database: database, logger: TestEnvironment.logger, retry: .milliseconds(20))
        let nodeB = CodeflowBuildSlots(database: database, logger: TestEnvironment.logger, retry: .milliseconds(20))

        let first = try await nodeA.acquire(codeflow: "pay-api", count: 1)
        // Another codeflow is not held up by pay-api's slot.
        let other = try await nodeB.acquire(codeflow: "shop-web", count: 1)
        await other.release()

        let waiting = Flag()
        let waiter = Task { let lease = try await nodeB.acquire(codeflow: "pay-api", count: 1); waiting.set(); return lease }
        try await Task.sleep(for: .milliseconds(400))
        #expect(!waiting.value, "a second build of pay-api took a slot while the only one was held")
        await first.release()
        let second = try await waiter.value
        #expect(second.connection != nil)

        // Two slots: two holders at once, a third waits.
        let a = try await nodeA.acquire(codeflow: "web", count: 2)
        let b = try await nodeB.acquire(codeflow: "web", count: 2)
        let thirdTook = Flag()
        let third = Task { let lease = try await nodeA.acquire(codeflow: "web", count: 2); thirdTook.set(); return lease }
        try await Task.sleep(for: .milliseconds(400))
        #expect(!thirdTook.value, "a third build took one of two slots")
        // A holder whose connection dies (a killed node) frees its slot without any release.
        try await b.connection?.close()
        let c = try await third.value
        await a.release(); await c.release(); await second.release()

        // No parallelism set: no lock, no wait.
        let free = try await nodeA.acquire(codeflow: "web", count: nil)
        #expect(free.connection == nil)
        try? await Database.dropScratch(database.settings, logger: TestEnvironment.logger)
    }

    /// Set by a waiter once it holds its slot.
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var done = false
        func set() { lock.withLock { done = true } }
        var value: Bool { lock.withLock { done } }
    }
}
