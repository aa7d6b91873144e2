import Crypto
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
        public var topic: String
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
        public init(topic: String, partition: Int) { self.topic = topic; self.partition = partition }
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
    /// Whether every record must carry its stored prevHash/hash (topics whose single writer chains them: events).
    /// Without, records are chained by the verifier from their values alone and only checkpoints vouch for them.
    public let storedHashes: Bool
    /// With checkpoints every N records, a stretch of more than this many records without one means checkpoints
    /// were removed. nil: not checked.
    public let maxCheckpointGap: Int64?
    /// Records newer than this need no checkpoint yet (the writer signs within its interval); an older uncovered
    /// tail means the newest checkpoints were removed. nil: not checked.
    public let maxUncoveredAge: TimeInterval?
    /// Checkpoints kept outside the store (`wharf audit witness export`): the log must still pass through each.
    public let witnessed: [Checkpoint]
    public let now: Date
    /// Partitions verified at the same time: many, so that the store packs the next batches while this process hashes
    /// (on 2 cores, 12 at once verified about a fifth faster than 4).
    public var parallelism = 16

    public init(log: any EventLog, trusted: TrustedKeys, checkKeys: Bool = true, storedHashes: Bool = true, maxCheckpointGap: Int64? = nil,
                maxUncoveredAge: TimeInterval? = nil, witnessed: [Checkpoint] = [], now: Date = Date()) {
        self.log = log; self.trusted = trusted; self.checkKeys = checkKeys; self.storedHashes = storedHashes; self.maxCheckpointGap = maxCheckpointGap
        self.maxUncoveredAge = maxUncoveredAge; self.witnessed = witnessed; self.now = now
    }

    /// The spine's chained topics, each by its rules: events carry the hashes their single writer computed and are
    /// keyed by the aggregate their envelope names; commands (many writers) are chained by the processor from their
    /// values as it reads them and vouched for by its checkpoints alone. A command's key is not checked: the processor
    /// decides by the envelope and refuses a record keyed otherwise, so the key carries nothing to forge.
    public func verifySpine() async throws -> Report {
        var report = Report()
        for w in witnessed where w.topic != Topics.events && w.topic != Topics.commands {
            report.breaks.append(Break(topic: w.topic, partition: w.partition, offset: w.offset,
                                       problem: "the witness holds a checkpoint of a topic this log does not chain"))
        }
        for (topic, stored, keys) in [(Topics.events, true, true), (Topics.commands, false, false)] {
            let verifier = ChainVerifier(log: log, trusted: trusted, checkKeys: keys, storedHashes: stored, maxCheckpointGap: maxCheckpointGap,
                                         maxUncoveredAge: maxUncoveredAge, witnessed: witnessed, now: now)
            let part = try await verifier.verify(topic: topic)
            report.partitions += part.partitions
            report.breaks += part.breaks
        }
        return report
    }

    public func verify(topic: String) async throws -> Report {
        var report = Report()
        let partitions = try await log.partitionCount(topic: topic)
        for w in witnessed where w.topic == topic && w.partition >= partitions {
            report.breaks.append(Break(topic: w.topic, partition: w.partition, offset: w.offset,
                                       problem: "the witness holds a checkpoint of a partition this log does not have"))
        }
        // Partitions are independent chains: a few at a time, so reading and hashing overlap.
        var results: [(PartitionReport, Break?)] = []
        try await withThrowingTaskGroup(of: (PartitionReport, Break?).self) { group in
            var started = 0
            func start(_ p: Int) {
                group.addTask {
                    var partitionReport = PartitionReport(topic: topic, partition: p)
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
        var previous = [UInt8](repeating: 0, count: 32)  // the genesis
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

        // The next batch is read while this one is hashed (a dense log knows where it starts; Kafka asks after).
        let limit = 5000
        func fetch(_ from: Int64) -> Task<ChainBatch, Error> {
            Task { try await log.readChain(topic: topic, partition: p, from: from, limit: limit) }
        }
        var pending = fetch(0)
        var problem: Break?
        while problem == nil {
            let batch = try await pending.value
            if batch.isEmpty { break }
            if dense, batch.count == limit, let last = batch.lastOffset { pending = fetch(last + 1) }
            defer { if !(dense && batch.count == limit) { pending = fetch((batch.lastOffset ?? expected - 1) + 1) } }
            batch.forEach { record in
                report.records += 1
                // Dense logs have no holes; elsewhere (Kafka) the chain itself shows a missing record.
                if dense ? record.offset != expected : record.offset < expected {
                    problem = broken(expected, "record missing (next stored offset is \(record.offset))"); return false
                }
                // Stored hashes only say where a naive edit happened; the signed checkpoints decide. A topic whose
                // writer cannot know the previous record (commands, many writers) stores none.
                let digest: SHA256Digest
                if record.prevHash.isEmpty {
                    if storedHashes {
                        problem = broken(record.offset, "the record carries no hashes on a chained topic"); return false
                    }
                    var hasher = SHA256()
                    previous.withUnsafeBytes { hasher.update(bufferPointer: $0) }
                    hasher.update(bufferPointer: record.value)
                    digest = hasher.finalize()
                } else {
                    guard previous.withUnsafeBytes({ sameBytes($0, record.prevHash) }) else {
                        problem = broken(record.offset, "prevHash \(HashChain.hex(record.prevHash)) does not match the hash of the record before (\(HashChain.hex(previous)))")
                        return false
                    }
                    var hasher = SHA256()
                    hasher.update(bufferPointer: record.prevAndValue)
                    digest = hasher.finalize()
                }
                if !record.hash.isEmpty || storedHashes, !digest.withUnsafeBytes({ sameBytes($0, record.hash) }) {
                    problem = broken(record.offset, "content does not match its hash (stored \(record.hash.isEmpty ? "none" : HashChain.hex(record.hash)), recomputed \(HashChain.hex(digest))): the record was altered")
                    return false
                }
                // The key is outside the hashed bytes; the envelope inside names its aggregate, and they must agree.
                if checkKeys, !EnvelopeFields.aggregate(of: record.value, is: record.key) {
                    problem = broken(record.offset, "the record is keyed \"\(String(decoding: record.key, as: UTF8.self))\" but the hashed envelope names another aggregate: the key was changed")
                    return false
                }
                let signedHere = signed[record.offset], witnessedHere = witness[record.offset]
                if signedHere != nil || witnessedHere != nil {
                    let recomputed = HashChain.hex(digest)
                    for checkpoint in signedHere ?? [] {
                        report.checkpointsChecked += 1
                        if let found = check(checkpoint, at: record.offset, hash: recomputed, source: "signed checkpoint") { problem = found; return false }
                        report.newestCheckpointOffset = record.offset
                        report.newestCheckpointTime = checkpoint.time ?? report.newestCheckpointTime
                    }
                    for checkpoint in witnessedHere ?? [] {
                        report.witnessedChecked += 1
                        if let found = check(checkpoint, at: record.offset, hash: recomputed, source: "witnessed checkpoint") { problem = found; return false }
                    }
                }
                if signedHere != nil {
                    if let gap = maxCheckpointGap, record.offset - lastCheckpoint > gap {
                        problem = broken(record.offset, "\(record.offset - lastCheckpoint) records since the previous checkpoint (at most \(gap) expected): checkpoints were removed")
                        return false
                    }
                    lastCheckpoint = record.offset
                }
                previous.withUnsafeMutableBytes { to in digest.withUnsafeBytes { to.copyMemory(from: $0) } }
                lastOffset = record.offset
                expected = record.offset + 1
                return true
            }
            // Only the newest record's time is ever needed (the uncovered-tail check).
            if problem == nil, let last = batch.lastRecordValue { lastValue = last }
        }
        if let problem { pending.cancel(); return problem }
        report.lastOffset = lastOffset >= 0 ? lastOffset : nil
        // Dense (Postgres): the partition row's next offset and the stored records must agree either way. On Kafka a
        // read that goes past the end the broker reported is a broker answering from stale state (seen with Tansu),
        // not a removal: those records were chained and checked like the rest.
        if dense, expected != end {
            return broken(expected, expected < end ? "the partition claims \(end) records but only \(expected) are stored: records were removed"
                                                   : "\(expected) records are stored but the partition claims \(end): records were written around the log")
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
                              + "(the writer signs within \(Int(maxAge)) s): the newest checkpoints were removed, or the partition's command processor "
                              + "stopped or fell behind before signing them")
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

    static func aggregate(of value: UnsafeRawBufferPointer, is key: UnsafeRawBufferPointer) -> Bool {
        let v = value.bindMemory(to: UInt8.self)
        guard let at = firstIndex(of: aggregateKey, in: v) else { return false }
        // Keys are DNS-ish ("service/pay-api"); one that needs escaping is compared in its escaped form.
        if key.allSatisfy({ $0 != 0x22 && $0 != 0x5c && $0 >= 0x20 }) {
            let start = at + aggregateKey.count
            return v.count > start + key.count + 1 && v[start] == 0x22 && v[start + 1 + key.count] == 0x22
                && sameBytes(UnsafeRawBufferPointer(rebasing: value[(start + 1)..<(start + 1 + key.count)]), key)
        }
        let expected = Array(CanonicalWriter.write(.string(String(decoding: key, as: UTF8.self))).utf8)
        return v[(at + aggregateKey.count)...].starts(with: expected)
    }

    static func aggregate(of value: String, is key: String) -> Bool {
        var value = value, key = key
        return value.withUTF8 { v in key.withUTF8 { k in aggregate(of: UnsafeRawBufferPointer(v), is: UnsafeRawBufferPointer(k)) } }
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

/// Byte equality of two buffers (hashes, keys) without allocating.
func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    guard a.count > 0 else { return true }
    return memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
}
