import Events

/// Walks every partition of a chained topic and recomputes the hash chain. Reads the store through the log
/// contract, never through the API whose data it is checking.
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
        /// The first break found in each partition that has one, in partition order.
        public var breaks: [Break] = []
        public var ok: Bool { breaks.isEmpty }
    }

    public let log: any EventLog
    public init(log: any EventLog) { self.log = log }

    public func verify(topic: String, progress: (Int, Int64) -> Void = { _, _ in }) async throws -> Report {
        var report = Report()
        let partitions = try await log.partitionCount(topic: topic)
        for p in 0..<partitions {
            report.partitionsChecked += 1
            let end = try await log.endOffset(topic: topic, partition: p)
            var expected: Int64 = 0
            var previous = HashChain.genesis
            scan: while true {
                let batch = try await log.read(topic: topic, partition: p, from: expected, limit: 5000)
                if batch.isEmpty { break }
                for record in batch {
                    report.recordsChecked += 1
                    if record.offset != expected {
                        report.breaks.append(Break(topic: topic, partition: p, offset: expected,
                                                   problem: "record missing (next stored offset is \(record.offset))"))
                        break scan
                    }
                    if record.prevHash != previous {
                        report.breaks.append(Break(topic: topic, partition: p, offset: record.offset,
                                                   problem: "prevHash \(record.prevHash ?? "none") does not match the hash of the record before (\(previous))"))
                        break scan
                    }
                    let recomputed = HashChain.next(previous: previous, value: record.value)
                    if record.hash != recomputed {
                        report.breaks.append(Break(topic: topic, partition: p, offset: record.offset,
                                                   problem: "content does not match its hash (stored \(record.hash ?? "none"), recomputed \(recomputed)): the record was altered"))
                        break scan
                    }
                    previous = recomputed
                    expected += 1
                }
                progress(p, expected)
            }
            if report.breaks.last?.partition != p && expected != end {
                report.breaks.append(Break(topic: topic, partition: p, offset: expected,
                                           problem: "the partition claims \(end) records but only \(expected) are stored: records were removed"))
            }
        }
        return report
    }
}
