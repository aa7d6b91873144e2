import Events
import Foundation

/// Walks every partition of a chained topic and recomputes the hash chain, then checks the signed checkpoints
/// (and, when given, a witness's copies of them) against it. Reads the store through the log contract, never
/// through the API whose data it is checking. Fails closed: every checkpoint must be signed by a trusted key, and
/// any error reading a topic is an error, not "nothing to check".
public struct ChainVerifier {
    public struct Break: Sendable, CustomStringConvertible, Codable {
        public var topic: String
        public var partition: Int
        public var offset: Int64
        public var problem: String
        public var description: String { "\(topic)/\(partition) offset \(offset): \(problem)" }
    }

    /// What was checked in one partition.
    public struct PartitionReport: Sendable, Codable {
        public var partition: Int
        public var records: Int64 = 0
        public var checkpointsChecked = 0
        public var witnessedChecked = 0
        /// Offset and signing time of the newest checkpoint that verified.
        public var newestCheckpointOffset: Int64?
        public var newestCheckpointTime: String?
        /// Offset of the last record, and whether a verified checkpoint covers it.
        public var lastOffset: Int64?
        public var tailCovered: Bool { lastOffset == nil || newestCheckpointOffset == lastOffset }
        public init(partition: Int) { self.partition = partition }
    }

    public struct Report: Sendable {
        public var partitions: [PartitionReport] = []
        /// The first break found in each partition that has one, in partition order.
        public var breaks: [Break] = []
        public var ok: Bool { breaks.isEmpty }
        public var recordsChecked: Int64 { partitions.reduce(0) { $0 + $1.records } }
        public var checkpointsChecked: Int { partitions.reduce(0) { $0 + $1.checkpointsChecked } }
        public var witnessedChecked: Int { partitions.reduce(0) { $0 + $1.witnessedChecked } }
        public var partitionsChecked: Int { partitions.count }
        public init() {}
    }

    public let log: any EventLog
    public let trusted: TrustedKeys
    /// Whether records are envelopes whose `aggregate` must equal the record key (the spine's topics are).
    public let checkKeys: Bool
    /// With checkpoints every N records, a stretch of more than this many records without one means checkpoints
    /// were removed. nil: not checked.
    public let maxCheckpointGap: Int64?
    /// Records newer than this need no checkpoint yet (the writer signs within its interval); an older uncovered
    /// tail means the newest checkpoints were removed. nil: not checked.
    public let maxUncoveredAge: TimeInterval?
    /// Checkpoints kept outside the store (`wharf audit witness export`): the log must still pass through each.
    public let witnessed: [Checkpoint]
    public let now: Date
    /// Partitions verified at the same time.
    public var parallelism = 4

    public init(log: any EventLog, trusted: TrustedKeys, checkKeys: Bool = true, maxCheckpointGap: Int64? = nil,
                maxUncoveredAge: TimeInterval? = nil, witnessed: [Checkpoint] = [], now: Date = Date()) {
        self.log = log; self.trusted = trusted; self.checkKeys = checkKeys; self.maxCheckpointGap = maxCheckpointGap
        self.maxUncoveredAge = maxUncoveredAge; self.witnessed = witnessed; self.now = now
    }

    public func verify(topic: String) async throws -> Report {
        var report = Report()
        let partitions = try await log.partitionCount(topic: topic)
        for w in witnessed where w.topic != topic || w.partition >= partitions {
            report.breaks.append(Break(topic: w.topic, partition: w.partition, offset: w.offset,
                                       problem: "the witness holds a checkpoint of a partition this log does not have"))
        }
        // Partitions are independent chains: a few at a time, so reading and hashing overlap.
        var results: [(PartitionReport, Break?)] = []
        try await withThrowingTaskGroup(of: (PartitionReport, Break?).self) { group in
            var started = 0
            func start(_ p: Int) {
                group.addTask {
                    var partitionReport = PartitionReport(partition: p)
                    let problem = try await self.verify(topic: topic, partition: p, report: &partitionReport)
                    return (partitionReport, problem)
                }
            }
            while started < min(partitions, parallelism) { start(started); started += 1 }
            while let done = try await group.next() {
                results.append(done)
                if started < partitions { start(started); started += 1 }
            }
        }
        for (partitionReport, problem) in results.sorted(by: { $0.0.partition < $1.0.partition }) {
            if let problem { report.breaks.append(problem) }
            report.partitions.append(partitionReport)
        }
        return report
    }

    /// Every checkpoint record of the partition's key, by offset: a forged one beside a genuine one must not replace it.
    private func checkpoints(topic: String, partition p: Int) async throws -> [Int64: [Checkpoint]] {
        Dictionary(grouping: try await log.checkpoints(of: topic, partition: p).checkpoints, by: \.offset)
    }

    private func verify(topic: String, partition p: Int, report: inout PartitionReport) async throws -> Break? {
        func broken(_ offset: Int64, _ problem: String) -> Break { Break(topic: topic, partition: p, offset: offset, problem: problem) }
        let end = try await log.endOffset(topic: topic, partition: p)
        let signed = try await checkpoints(topic: topic, partition: p)
        let witness = Dictionary(grouping: witnessed.filter { $0.topic == topic && $0.partition == p }, by: \.offset)
        let dense = log.denseOffsets
        var expected: Int64 = 0
        var lastOffset: Int64 = -1
        var lastValue: String?
        var previous = HashChain.genesis
        var lastCheckpoint: Int64 = -1

        /// A checkpoint (stored or witnessed) must be about this partition, trusted, and match the recomputed hash.
        func check(_ checkpoint: Checkpoint, at offset: Int64, hash: String, source: String) -> Break? {
            if checkpoint.topic != topic || checkpoint.partition != p {
                return broken(offset, "\(source) signed for \(checkpoint.topic)/\(checkpoint.partition) sits in \(topic)/\(p): a checkpoint was moved")
            }
            switch trusted.isValid(checkpoint) {
            case true?: break
            case false?: return broken(offset, "the \(source)'s signature is invalid (key \(checkpoint.keyId))")
            case nil: return broken(offset, "the \(source) is signed by key \(checkpoint.keyId), which is not trusted")
            }
            if checkpoint.hash != hash {
                return broken(offset, "differs from the \(source) (signed hash \(checkpoint.hash), recomputed \(hash)): the chain was rewritten")
            }
            return nil
        }

        var previousBytes = HashChain.hexBytes(previous)
        // The next batch is read while this one is hashed (a dense log knows where it starts; Kafka asks after).
        let limit = 5000
        func fetch(_ from: Int64) -> Task<[LogRecord], Error> {
            Task { try await log.readTowardsEnd(topic: topic, partition: p, from: from, limit: limit) }
        }
        var pending = fetch(0)
        while true {
            let batch = try await pending.value
            if batch.isEmpty { break }
            if dense, batch.count == limit, let last = batch.last { pending = fetch(last.offset + 1) }
            defer { if !(dense && batch.count == limit) { pending = fetch((batch.last?.offset ?? expected - 1) + 1) } }
            for record in batch {
                report.records += 1
                // Dense logs have no holes; elsewhere (Kafka) the chain itself shows a missing record.
                if dense ? record.offset != expected : record.offset < expected {
                    return broken(expected, "record missing (next stored offset is \(record.offset))")
                }
                if record.prevHash != previous {
                    return broken(record.offset, "prevHash \(record.prevHash ?? "none") does not match the hash of the record before (\(previous))")
                }
                let digest = HashChain.nextBytes(previous: previousBytes, value: record.value)
                let recomputed = HashChain.hex(digest)
                if record.hash != recomputed {
                    return broken(record.offset, "content does not match its hash (stored \(record.hash ?? "none"), recomputed \(recomputed)): the record was altered")
                }
                // The key is outside the hashed bytes; the envelope inside names its aggregate, and they must agree.
                if checkKeys, !EnvelopeFields.aggregate(of: record.value, is: record.key) {
                    return broken(record.offset, "the record is keyed \"\(record.key)\" but the hashed envelope names another aggregate: the key was changed")
                }
                for checkpoint in signed[record.offset] ?? [] {
                    report.checkpointsChecked += 1
                    if let problem = check(checkpoint, at: record.offset, hash: recomputed, source: "signed checkpoint") { return problem }
                    report.newestCheckpointOffset = record.offset
                    report.newestCheckpointTime = checkpoint.time ?? report.newestCheckpointTime
                }
                for checkpoint in witness[record.offset] ?? [] {
                    report.witnessedChecked += 1
                    if let problem = check(checkpoint, at: record.offset, hash: recomputed, source: "witnessed checkpoint") { return problem }
                }
                if signed[record.offset] != nil {
                    if let gap = maxCheckpointGap, record.offset - lastCheckpoint > gap {
                        return broken(record.offset, "\(record.offset - lastCheckpoint) records since the previous checkpoint (at most \(gap) expected): checkpoints were removed")
                    }
                    lastCheckpoint = record.offset
                }
                previous = recomputed
                previousBytes = digest
                lastOffset = record.offset
                lastValue = record.value
                expected = record.offset + 1
            }
        }
        report.lastOffset = lastOffset >= 0 ? lastOffset : nil
        if dense ? expected != end : expected > end {
            return broken(expected, "the partition claims \(end) records but only \(expected) are stored: records were removed")
        }
        // On Kafka the last offset may be a commit marker, nothing further: reads that stop earlier are not an end.
        if !dense, expected < end - 1 {
            return broken(expected, "records from offset \(expected) to \(end) could not be read; nothing after it was verified")
        }
        if let beyond = witness.keys.filter({ $0 >= expected }).min() {
            return broken(expected, "a witness holds a checkpoint at offset \(beyond) but the partition ends at \(expected): the log was truncated or rolled back")
        }
        if let beyond = signed.keys.filter({ $0 >= expected }).min() {
            return broken(expected, "a signed checkpoint covers offset \(beyond) but the partition ends at \(expected): records were removed")
        }
        if let gap = maxCheckpointGap, lastOffset - lastCheckpoint > gap {
            return broken(lastCheckpoint + 1, "\(lastOffset - lastCheckpoint) records after the last checkpoint (at most \(gap) expected): checkpoints were removed")
        }
        if let maxAge = maxUncoveredAge, lastOffset > lastCheckpoint, let value = lastValue {
            // The age comes from the record itself: one without a readable time, or dated in the future, is suspect.
            guard let time = EnvelopeFields.time(of: value).flatMap(WharfTime.parse), time.timeIntervalSince(now) < 300 else {
                return broken(lastOffset, "the newest record has no readable time, or one in the future, and no checkpoint covers it")
            }
            if now.timeIntervalSince(time) > maxAge {
                return broken(lastCheckpoint + 1, "records after offset \(lastCheckpoint) are \(Int(now.timeIntervalSince(time))) s old and no checkpoint covers them "
                              + "(the writer signs within \(Int(maxAge)) s): the newest checkpoints were removed")
            }
        }
        return nil
    }
}

/// Two top-level fields of a stored envelope, found without decoding it (the verifier reads every record).
/// Canonical JSON sorts keys and escapes quotes inside strings, so the first `"aggregate":` is the envelope's own
/// (only `actor`, a string, comes before it) and the last `"time":` is too (`payload` sorts before it).
enum EnvelopeFields {
    private static let aggregateKey = Array(#""aggregate":"#.utf8)
    private static let timeKey = Array(#""time":""#.utf8)

    static func aggregate(of value: String, is key: String) -> Bool {
        var value = value, key = key
        return value.withUTF8 { v in
            guard let at = firstIndex(of: aggregateKey, in: v) else { return false }
            // Keys are DNS-ish ("service/pay-api"); one that needs escaping is compared in its escaped form.
            return key.withUTF8 { k in
                if k.allSatisfy({ $0 != 0x22 && $0 != 0x5c && $0 >= 0x20 }) {
                    let start = at + aggregateKey.count
                    return v.count > start + k.count + 1 && v[start] == 0x22 && v[start + 1 + k.count] == 0x22
                        && memcmp(v.baseAddress! + start + 1, k.baseAddress!, k.count) == 0
                }
                let expected = Array(CanonicalWriter.write(.string(String(decoding: k, as: UTF8.self))).utf8)
                return v[(at + aggregateKey.count)...].starts(with: expected)
            }
        }
    }

    static func time(of value: String) -> String? {
        guard let range = value.utf8.ranges(of: timeKey).last else { return nil }
        let rest = value.utf8[range.upperBound...]
        guard let quote = rest.firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(value.utf8[range.upperBound..<quote])
    }

    private static func firstIndex(of needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == needle[0], memcmp(haystack.baseAddress! + i, needle, needle.count) == 0 { return i }
            i += 1
        }
        return nil
    }
}
