import Commands
import EventLog
import Events
import Foundation
import Hummingbird
import Logging
import Prometheus
import Projections
import ServiceLifecycle
import Workers

/// A Wharf node: the command processor, the projector, the outcome tracker and the workers as lifecycle services,
/// plus the HTTP API in front of them.
public final class WharfRuntime: @unchecked Sendable {
    public let store: WharfStore
    public let tokens: TokenStore
    public let tracker = OutcomeTracker()
    public let gateway: CommandGateway
    public let registry: PrometheusCollectorRegistry
    /// Ownership, positions and halts of this process's partition consumers (and the halts other processes report).
    public let health = PartitionHealth()
    /// What /healthz still waits for before it answers ok (the first admin, on a first start).
    public let readiness = Readiness()
    /// Validator of SSO tokens (JWTs), when configured.
    public let sso: JWTValidator?
    /// Keys of secret env values (`WHARF_SECRET_KEYS`).
    public let secrets: SecretKeyring
    /// The installation's checkpoint key (signs checkpoints, snapshots, Nginx versions).
    public let signer: CheckpointSigner?
    /// Keys that authenticate command records (`WHARF_COMMAND_KEYS`).
    public let commandAuthenticator: CommandAuthenticator
    /// The processor, projector, tracker, workers, status reporter (and a pending read-model rebuild).
    public let services: [ServiceGroupConfiguration.ServiceConfiguration]
    /// How this node builds images (nil: it builds none; build logs are then not on this node).
    public let builds: BuildSettings?
    private var tasks: [Task<Void, Never>] = []
    private let logger: Logger

    public init(store: WharfStore, partitions: Int, registry: PrometheusCollectorRegistry, logger: Logger,
                signer: CheckpointSigner? = nil, checkpointEvery: Int = 1000, snapshotEvery: Int = 10_000, sso: JWTValidator? = nil,
                secrets: SecretKeyring = .ephemeral(), commandAuthenticator: CommandAuthenticator = .ephemeral(),
                trace: WriteTrace? = nil, builds: BuildSettings? = nil) async throws {
        self.store = store
        self.sso = sso
        self.secrets = secrets
        self.signer = signer
        self.commandAuthenticator = commandAuthenticator
        self.registry = registry
        self.builds = builds
        self.logger = logger
        tokens = TokenStore(database: store.database)
        try await tokens.prepare()
        let pendingReadModels = try await Projector.prepare(database: store.database)
        gateway = CommandGateway(log: store.log, database: store.database, tracker: tracker, partitions: partitions, registry: registry,
                                 authenticator: commandAuthenticator,
                                 health: health, trace: trace)
        let status = ConsumerStatusReporter(database: store.database, health: health, logger: logger)
        try await status.table.prepare()
        try await WorkerRuntime.prepare(database: store.database)
        let snapshots = SnapshotStore(database: store.database)
        try await snapshots.prepare()
        var consumers = [
            tracker.consumer(log: store.log, health: health, logger: logger),
            CommandProcessor.consumer(log: store.log, partitions: partitions, logger: logger, signer: signer,
                                      authenticator: commandAuthenticator, checkpointEvery: checkpointEvery,
                                      snapshots: .init(store: snapshots, everyEvents: Int64(snapshotEvery)), health: health,
                                      olderDecided: { [queries = ReadModelQueries(database: store.database)] p, ids in
                                          try await queries.decidedCommandIds(ids, partition: p)
                                      }),
            Projector.consumer(log: store.log, database: store.database, health: health, logger: logger),
        ]
        let workers = WorkerContext(log: store.log, queries: ReadModelQueries(database: store.database), logger: logger, signer: signer,
                                    appender: CommandAppender(log: store.log, authenticator: commandAuthenticator, partitions: partitions),
                                    builds: builds, database: store.database, secrets: secrets)
        var workerTasks: [WorkerTask] = []
        for kind in Aggregates.registered {
            workerTasks += (kind as? any FeatureWorkers.Type)?.tasks(workers) ?? []
            for reactor in (kind as? any FeatureWorkers.Type)?.reactors(workers) ?? [] {
                consumers.append(WorkerRuntime.consumer(reactor: reactor, log: store.log, database: store.database, partitions: partitions,
                                                        authenticator: commandAuthenticator,
                                                        health: health, logger: logger))
            }
        }
        // The long-running services end only when cancelled; if one returned, the node would be missing a part, so
        // the group stops (and a supervisor restarts the process).
        var services = consumers.map { ServiceGroupConfiguration.ServiceConfiguration(service: BackgroundService.consumer($0, logger: logger)) }
        services.append(.init(service: BackgroundService("consumer status reporter") { await status.run() }))
        for task in workerTasks { services.append(.init(service: BackgroundService(task.name) { await task.run() })) }
        if !pendingReadModels.isEmpty {
            // Read models of a new layout are rebuilt beside the live ones while the others serve.
            // A one-off: when it is done the node carries on.
            services.append(.init(service: BackgroundService("rebuild of read models \(pendingReadModels.map(\.name))") {
                do { try await Projector.rebuildPending(log: store.log, database: store.database) } catch {
                    if Task.isCancelled { return }
                    logger.error("rebuilding read models \(pendingReadModels.map(\.name)) failed: \(error); they stay unavailable until the next start or `wharf projections rebuild`")
                }
            }, successTerminationBehavior: .ignore))
        }
        self.services = services
    }

    /// How long a read with `?after=` waits for the projections before answering 504. Five seconds serve a portal;
    /// a test harness sharing two cores with fifty other suites sets more.
    public var readWait: Duration = .seconds(5)

    public func router() -> Router<WharfRequestContext> {
        WharfAPI.router(gateway: gateway, database: store.database, tokens: tokens, health: health, readiness: readiness, registry: registry, sso: sso,
                        secrets: secrets, signer: signer, buildLogDirectory: builds?.logDirectory, readWait: readWait)
    }

    /// Makes the first admin on a fresh installation (see `IdentityBootstrap`); needs the services running.
    /// /healthz answers 503 "starting" meanwhile, so that nobody is handed a token that does not work yet.
    public func bootstrap(token: String?) async throws -> IdentityBootstrap.Outcome {
        readiness.pend("bootstrap", "making the first admin through the log")
        defer { readiness.done("bootstrap") }
        return try await IdentityBootstrap(gateway: gateway, queries: ReadModelQueries(database: store.database), tokens: tokens)
            .firstAdmin(token: token)
    }

    /// Runs the services outside a service group (tests, benchmarks); `stop` cancels them. `wharf serve` runs
    /// them in its ServiceGroup instead, with the HTTP server.
    public func start() {
        tasks = services.map { configuration in Task { try? await configuration.service.run() } }
    }

    public func stop() async {
        tasks.forEach { $0.cancel() }
        for task in tasks { await task.value }
        tasks = []
    }
}
