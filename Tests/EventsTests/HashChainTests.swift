import Events
import Testing

@Suite struct HashChainTests {
    @Test func chainMatchesIndependentSHA256() {
        // Expected values computed with Python's hashlib: sha256(bytes(32) + b"abc"), then chained with b"def".
        let first = HashChain.next(previous: HashChain.genesis, value: "abc")
        #expect(first == "365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370")
        #expect(HashChain.next(previous: first, value: "def") == "532f0131db1635cb105c9753e41e7908599aa4dd144658c92e50b60113ad993a")
    }

    @Test func oneChangedByteChangesTheHash() {
        #expect(HashChain.next(previous: HashChain.genesis, value: "abc") != HashChain.next(previous: HashChain.genesis, value: "abd"))
    }

    @Test func hexRoundTrip() {
        #expect(HashChain.hex(HashChain.hexBytes("00ff7a")) == "00ff7a")
        #expect(HashChain.hexBytes("zz").isEmpty)
    }
}

@Suite struct PartitionerTests {
    @Test func stableAcrossProcesses() {
        // FNV-1a values computed independently (Python); must never change, or keys would move partitions.
        #expect(Partitioner.partition(for: "service/payments-api", partitions: 12) == 7)
        #expect(Partitioner.partition(for: "service/nope", partitions: 12) == 1)
    }
}

@Suite struct LogPositionTests {
    @Test func parsesAndPrints() {
        #expect(LogPosition("3:1527") == LogPosition(partition: 3, offset: 1527))
        #expect(LogPosition(partition: 3, offset: 1527).description == "3:1527")
        for bad in ["", "3", "3:", ":4", "-1:2", "a:b", "1:2:3"] { #expect(LogPosition(bad) == nil, "\(bad)") }
    }
}

@Suite struct WharfTimeTests {
    @Test func formatsUTCWithMilliseconds() {
        #expect(WharfTime.format(Date(timeIntervalSince1970: 1_795_771_800.123)) == "2026-11-27T09:30:00.123Z")
        #expect(abs(WharfTime.parse("2026-11-27T09:30:00.123Z")!.timeIntervalSince1970 - 1_795_771_800.123) < 0.0005)
        #expect(WharfTime.parse("2026-11-27T10:30:00+01:00")?.timeIntervalSince1970 == 1_795_771_800)
        #expect(WharfTime.parse("yesterday") == nil)
    }
}

import Foundation
