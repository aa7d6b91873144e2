import Commands
import EventLog
import Events
import Foundation
import Hummingbird
import Logging
import Prometheus
import Projections
import Workers

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
                signer: CheckpointSigner? = nil, checkpointEvery: Int = 1000, nginx: NginxCommandLine? = NginxCommandLine.find()) async throws {
        self.store = store
        self.registry = registry
        self.logger = logger
        tokens = TokenStore(database: store.database)
        try await tokens.prepare()
        try await Projector.prepare(database: store.database)
        gateway = CommandGateway(log: store.log, database: store.database, tracker: tracker, partitions: partitions, registry: registry)
        try await WorkerRuntime.prepare(database: store.database)
        var consumers = [
            tracker.consumer(log: store.log, logger: logger),
            CommandProcessor.consumer(log: store.log, partitions: partitions, logger: logger, signer: signer, checkpointEvery: checkpointEvery),
            Projector.consumer(log: store.log, database: store.database, logger: logger),
            WorkerRuntime.consumer(reactor: NginxServiceSync(log: store.log, queries: ReadModelQueries(database: store.database), logger: logger),
                                   log: store.log, database: store.database, partitions: partitions, logger: logger),
        ]
        if let nginx {
            // Each check makes its own private directory here (mkdtemp); no fixed directory of ours under /tmp that
            // another user could create first.
            let scratch = FileManager.default.temporaryDirectory.path
            consumers.append(WorkerRuntime.consumer(reactor: NginxConfigValidator(nginx: nginx, scratchRoot: scratch, logger: logger),
                                                    log: store.log, database: store.database, partitions: partitions, logger: logger))
        } else {
            logger.warning("nginx not found on PATH: new Nginx config versions stay pending until a Wharf node with nginx validates them (set WHARF_NGINX)")
        }
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
