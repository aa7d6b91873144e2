@testable import EventLog
import Foundation
import Testing

@Suite struct RecentAppendsTests {
    private func outgoing(_ values: [String]) -> [OutgoingRecord] { values.map { OutgoingRecord(key: "k", value: $0) } }

    @Test func aRunStopsAtTheFirstOffsetThisProcessDidNotAppend() {
        let recent = RecentAppends()
        recent.add(topic: "t", partition: 0, offsets: [0, 1], records: outgoing(["a", "b"]))
        // Offset 2 was another process's; 3 is ours again.
        recent.add(topic: "t", partition: 0, offsets: [3], records: outgoing(["d"]))
        #expect(recent.read(topic: "t", partition: 0, from: 0, limit: 10)?.map(\.value) == ["a", "b"])
        #expect(recent.read(topic: "t", partition: 0, from: 1, limit: 1)?.map(\.offset) == [1])
        #expect(recent.read(topic: "t", partition: 0, from: 2, limit: 10) == nil, "the gap is read from the store")
        #expect(recent.read(topic: "t", partition: 0, from: 3, limit: 10)?.map(\.value) == ["d"])
        #expect(recent.read(topic: "t", partition: 1, from: 0, limit: 10) == nil, "partitions are apart")
        #expect(recent.read(topic: "u", partition: 0, from: 0, limit: 10) == nil, "topics are apart")
    }

    @Test func appendsThatComeBackOutOfOrderStillFormARun() {
        let recent = RecentAppends()
        recent.add(topic: "t", partition: 0, offsets: [1], records: outgoing(["b"]))
        recent.add(topic: "t", partition: 0, offsets: [0], records: outgoing(["a"]))
        let run = recent.read(topic: "t", partition: 0, from: 0, limit: 10)
        #expect(run?.map(\.value) == ["a", "b"])
        #expect(run?.allSatisfy { $0.topic == "t" && $0.partition == 0 && $0.hash == nil } == true)
    }

    @Test func theOldestGoFirstWhenFull() {
        let recent = RecentAppends(maxRecords: 3, maxBytes: 1 << 20)
        for i in 0..<10 { recent.add(topic: "t", partition: 0, offsets: [Int64(i)], records: outgoing(["v\(i)"])) }
        #expect(recent.read(topic: "t", partition: 0, from: 6, limit: 10) == nil)
        #expect(recent.read(topic: "t", partition: 0, from: 7, limit: 10)?.map(\.value) == ["v7", "v8", "v9"])
        let bytes = RecentAppends(maxRecords: 100, maxBytes: 10)
        bytes.add(topic: "t", partition: 0, offsets: [0, 1, 2], records: outgoing(["1234", "5678", "90ab"]))
        #expect(bytes.read(topic: "t", partition: 0, from: 0, limit: 10) == nil, "over the byte bound")
        #expect(bytes.read(topic: "t", partition: 0, from: 1, limit: 10)?.count == 2)
    }
}

@Suite struct AppendSignalTests {
    @Test func anAppendWakesAWaiterAtOnce() async throws {
        let signal = AppendSignal()
        let clock = ContinuousClock()
        let started = clock.now
        async let waited: Void = signal.wait(topic: "t", partition: 0, from: 5, timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(50))
        signal.appended(topic: "t", partition: 0, end: 5)  // nothing at offset 5 yet: keeps waiting
        signal.appended(topic: "t", partition: 1, end: 9)  // another partition
        try await Task.sleep(for: .milliseconds(50))
        signal.appended(topic: "t", partition: 0, end: 6)
        await waited
        // Well short of the 30 s timeout (the bound is loose because a loaded test run can stall the pool for seconds).
        #expect(clock.now - started < .seconds(20))
        #expect(signal.knownEnd(topic: "t", partition: 0) == 6)
        // Known already: returns without parking.
        await signal.wait(topic: "t", partition: 0, from: 5, timeout: .seconds(30))
    }

    @Test func aWaitEndsAtItsTimeout() async {
        let signal = AppendSignal()
        let clock = ContinuousClock()
        let started = clock.now
        await signal.wait(topic: "t", partition: 0, from: 0, timeout: .milliseconds(100))
        let took = clock.now - started
        #expect(took >= .milliseconds(100) && took < .seconds(20), "took \(took)")
    }

    @Test func cancellingTheWaitingTaskEndsTheWait() async {
        let signal = AppendSignal()
        let clock = ContinuousClock()
        let started = clock.now
        let waiting = Task { await signal.wait(topic: "t", partition: 0, from: 0, timeout: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        await waiting.value
        #expect(clock.now - started < .seconds(30), "ended by the cancel, not by the 60 s timeout")
    }
}
