import Commands
import EventLog
import Events
import Foundation
import Hummingbird
import Logging
import Prometheus
import Projections

/// A running Wharf node: the command processor, the projector and the outcome tracker as background consumers,
/// plus the HTTP API in front of them.
public final class WharfRuntime: @unchecked Sendable {
    public let store: WharfStore
    public let tokens: TokenStore
    public let tracker = OutcomeTracker()
    public let gateway: CommandGateway
    public let registry: PrometheusCollectorRegistry
    private var tasks: [Task<Void, Never>] = []
    private let logger: Logger

    public init(store: WharfStore, partitions: Int, registry: PrometheusCollectorRegistry, logger: Logger,
                signer: CheckpointSigner? = nil, checkpointEvery: Int = 1000) async throws {
        self.store = store
        self.registry = registry
        self.logger = logger
        tokens = TokenStore(database: store.database)
        try await tokens.prepare()
        try await Projector.prepare(database: store.database)
        gateway = CommandGateway(log: store.log, database: store.database, tracker: tracker, partitions: partitions, registry: registry)
        let consumers = [
            tracker.consumer(log: store.log, logger: logger),
            CommandProcessor.consumer(log: store.log, partitions: partitions, logger: logger, signer: signer, checkpointEvery: checkpointEvery),
            Projector.consumer(log: store.log, database: store.database, logger: logger),
        ]
        for consumer in consumers {
            // A consumer that cannot start (database away) is restarted with backoff, never left dead.
            tasks.append(Task {
                var delay = Duration.seconds(1)
                while !Task.isCancelled {
                    do {
                        try await consumer.run()
                    } catch {
                        if Task.isCancelled { return }
                        logger.error("consumer of \(consumer.topic) (\(consumer.group ?? "tail")) failed: \(error); restarting in \(delay)")
                    }
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(30))
                }
            })
        }
    }

    public func router() -> Router<WharfRequestContext> {
        WharfAPI.router(gateway: gateway, database: store.database, tokens: tokens, registry: registry)
    }

    public func stop() async {
        tasks.forEach { $0.cancel() }
        for task in tasks { await task.value }
    }
}
