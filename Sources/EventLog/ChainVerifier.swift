import Events

/// Walks every partition of a chained topic and recomputes the hash chain, then checks the signed checkpoints
/// against it. Reads the store through the log contract, never through the API whose data it is checking.
public struct ChainVerifier {
    public struct Break: Sendable, CustomStringConvertible {
        public var topic: String
        public var partition: Int
        public var offset: Int64
        public var problem: String
        public var description: String { "\(topic)/\(partition) offset \(offset): \(problem)" }
    }

    public struct Report: Sendable {
        public var recordsChecked: Int64 = 0
        public var partitionsChecked = 0
        public var checkpointsChecked = 0
        /// Checkpoints whose signatures were not checked because no trusted keys were given.
        public var checkpointsUnchecked = 0
        /// The first break found in each partition that has one, in partition order.
        public var breaks: [Break] = []
        public var ok: Bool { breaks.isEmpty }
    }

    public let log: any EventLog
    /// nil: signatures are not checked (no public key given); hashes of checkpoints still are.
    public let trusted: TrustedKeys?
    /// With checkpoints every N records, a stretch of more than this many records without one means checkpoints
    /// were removed. nil: not checked.
    public let maxCheckpointGap: Int64?

    public init(log: any EventLog, trusted: TrustedKeys? = nil, maxCheckpointGap: Int64? = nil) {
        self.log = log; self.trusted = trusted; self.maxCheckpointGap = maxCheckpointGap
    }

    public func verify(topic: String) async throws -> Report {
        var report = Report()
        let partitions = try await log.partitionCount(topic: topic)
        for p in 0..<partitions {
            report.partitionsChecked += 1
            if let problem = try await verify(topic: topic, partition: p, report: &report) { report.breaks.append(problem) }
        }
        return report
    }

    /// Every checkpoint record per offset: a forged one beside a genuine one must not replace it.
    private func checkpoints(topic: String, partition p: Int) async throws -> [Int64: [Checkpoint]] {
        guard (try? await log.partitionCount(topic: Topics.checkpoints)) != nil else { return [:] }
        var out: [Int64: [Checkpoint]] = [:]
        var at: Int64 = 0
        while true {
            let batch = try await log.read(topic: Topics.checkpoints, partition: p, from: at, limit: 5000)
            guard let last = batch.last else { break }
            for record in batch where record.key == Checkpoint.key(topic: topic, partition: p) {
                let checkpoint = try CanonicalJSON.decode(Checkpoint.self, from: record.value)
                out[checkpoint.offset, default: []].append(checkpoint)
            }
            at = last.offset + 1
        }
        return out
    }

    private func verify(topic: String, partition p: Int, report: inout Report) async throws -> Break? {
        func broken(_ offset: Int64, _ problem: String) -> Break { Break(topic: topic, partition: p, offset: offset, problem: problem) }
        let end = try await log.endOffset(topic: topic, partition: p)
        let signed = try await checkpoints(topic: topic, partition: p)
        let dense = log.denseOffsets
        var expected: Int64 = 0
        var lastOffset: Int64 = -1
        var previous = HashChain.genesis
        var lastCheckpoint: Int64 = -1
        while true {
            let batch = try await log.read(topic: topic, partition: p, from: expected, limit: 5000)
            if batch.isEmpty { break }
            for record in batch {
                report.recordsChecked += 1
                // Dense logs have no holes; elsewhere (Kafka) the chain itself shows a missing record.
                if dense ? record.offset != expected : record.offset < expected {
                    return broken(expected, "record missing (next stored offset is \(record.offset))")
                }
                if record.prevHash != previous {
                    return broken(record.offset, "prevHash \(record.prevHash ?? "none") does not match the hash of the record before (\(previous))")
                }
                let recomputed = HashChain.next(previous: previous, value: record.value)
                if record.hash != recomputed {
                    return broken(record.offset, "content does not match its hash (stored \(record.hash ?? "none"), recomputed \(recomputed)): the record was altered")
                }
                for checkpoint in signed[record.offset] ?? [] {
                    report.checkpointsChecked += 1
                    if checkpoint.hash != recomputed {
                        return broken(record.offset, "differs from the signed checkpoint (signed hash \(checkpoint.hash)): the chain was rewritten")
                    }
                    if let trusted {
                        switch trusted.isValid(checkpoint) {
                        case true?: break
                        case false?: return broken(record.offset, "the checkpoint's signature is invalid (key \(checkpoint.keyId))")
                        case nil: return broken(record.offset, "the checkpoint is signed by key \(checkpoint.keyId), which is not trusted")
                        }
                    } else {
                        report.checkpointsUnchecked += 1
                    }
                }
                if signed[record.offset] != nil {
                    if let gap = maxCheckpointGap, record.offset - lastCheckpoint > gap {
                        return broken(record.offset, "\(record.offset - lastCheckpoint) records since the previous checkpoint (at most \(gap) expected): checkpoints were removed")
                    }
                    lastCheckpoint = record.offset
                }
                previous = recomputed
                lastOffset = record.offset
                expected = record.offset + 1
            }
        }
        if dense ? expected != end : expected > end {
            return broken(expected, "the partition claims \(end) records but only \(expected) are stored: records were removed")
        }
        if let beyond = signed.keys.filter({ $0 >= expected }).min() {
            return broken(expected, "a signed checkpoint covers offset \(beyond) but the partition ends at \(expected): records were removed")
        }
        if let gap = maxCheckpointGap, lastOffset - lastCheckpoint > gap {
            return broken(lastCheckpoint + 1, "\(lastOffset - lastCheckpoint) records after the last checkpoint (at most \(gap) expected): checkpoints were removed")
        }
        return nil
    }
}
