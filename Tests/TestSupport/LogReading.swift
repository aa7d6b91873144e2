import EventLog

/// All records of a partition, from the start, read through the log contract (an empty read short of the end is
/// asked again: on Kafka it can come back empty while records are still being fetched).
public func readAll(_ log: any EventLog, _ topic: String, _ partition: Int, includeChain: Bool = true) async throws -> [LogRecord] {
    var out: [LogRecord] = []
    var at: Int64 = 0
    while true {
        let batch = try await log.readTowardsEnd(topic: topic, partition: partition, from: at, limit: 1000, includeChain: includeChain)
        guard let last = batch.last else { return out }
        out += batch
        at = last.offset + 1
    }
}
