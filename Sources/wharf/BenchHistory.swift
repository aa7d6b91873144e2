import Commands
import EventLog
import Events
import Foundation
import Logging

/// A history for benchmarks, built through the real command processor as production writes it: command records
/// authenticated, checkpoints signed every 1,000 events or 10 s, and (when given a snapshot store) snapshots every
/// 10,000 events. Creates of `events / 10` services, then scales of them: one event per command.
enum BenchHistory {
    static func build(log: any EventLog, events: Int, partitions: Int, signer: CheckpointSigner, authenticator: CommandAuthenticator,
                      snapshots: SnapshotStore? = nil, logger: Logger) async throws -> Duration {
        let time = WharfTime.format(Date())
        let services = max(1, events / 10)
        let processor = Task {
            try await CommandProcessor.consumer(log: log, partitions: partitions, logger: logger, batchSize: 1000, signer: signer,
                                                authenticator: authenticator, snapshots: snapshots.map { .init(store: $0) }).run()
        }
        defer { processor.cancel() }
        return try await ContinuousClock().measure {
            for start in stride(from: 0, to: events, by: 10_000) {
                var byPartition: [Int: [OutgoingRecord]] = [:]
                for i in start..<min(start + 10_000, events) {
                    let command = i < services
                        ? Command(CreateService(name: "svc-\(i)", businessLine: "bench", image: "registry.local/bench/app:1", replicas: 1))
                        : Command(ScaleService(name: "svc-\(i % services)", replicas: 2 + i / services))
                    byPartition[Partitioner.partition(for: command.aggregate, partitions: partitions), default: []].append(
                        try authenticator.record(CommandEnvelope(id: "bench-\(i)", actor: "user:bench", time: time, correlationId: "bench",
                                                                 command: command)))
                }
                for (p, records) in byPartition { try await log.append(topic: Topics.commands, partition: p, records: records) }
            }
            var decided: Int64 = 0
            while decided < Int64(events) {
                try await Task.sleep(for: .milliseconds(200))
                decided = 0
                for p in 0..<partitions { decided += try await log.endOffset(topic: Topics.events, partition: p) }
            }
            try await Task.sleep(for: .seconds(11))  // every tail signed (the 10 s interval)
        }
    }
}
