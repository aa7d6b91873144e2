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

    public init(store: WharfStore, partitions: Int, registry: PrometheusCollectorRegistry, logger: Logger) async throws {
        self.store = store
        self.registry = registry
        self.logger = logger
        tokens = TokenStore(database: store.database)
        try await tokens.prepare()
        try await Projector.prepare(database: store.database)
        gateway = CommandGateway(log: store.log, database: store.database, tracker: tracker, partitions: partitions, registry: registry)
        let consumers = [
            tracker.consumer(log: store.log, logger: logger),
            CommandProcessor.consumer(log: store.log, partitions: partitions, logger: logger),
            Projector.consumer(log: store.log, database: store.database, logger: logger),
        ]
        for consumer in consumers {
            tasks.append(Task {
                do { try await consumer.run() } catch {
                    if !Task.isCancelled { logger.error("consumer of \(consumer.topic) stopped: \(error)") }
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
