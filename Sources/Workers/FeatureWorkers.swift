import EventLog
import Events
import Logging
import Projections

/// What a feature's workers may use.
public struct WorkerContext: Sendable {
    public let log: any EventLog
    public let queries: ReadModelQueries
    public let logger: Logger
    /// The installation's key, for workers that sign what they vouch for (validated Nginx versions).
    public let signer: CheckpointSigner?
    /// Reports outside a reaction (builds that end long after their event).
    public let appender: CommandAppender
    /// How this node builds images; nil: it builds none.
    public let builds: BuildSettings?
    public let database: Database
    /// Opens what the API sealed for workers (cluster tokens); nil: such workers do not run.
    public let secrets: SecretKeyring?
    public init(log: any EventLog, queries: ReadModelQueries, logger: Logger, signer: CheckpointSigner? = nil, appender: CommandAppender,
                builds: BuildSettings? = nil, database: Database, secrets: SecretKeyring? = nil) {
        self.log = log; self.queries = queries; self.logger = logger; self.signer = signer; self.appender = appender; self.builds = builds
        self.database = database; self.secrets = secrets
    }
}

/// A task a feature runs beside its reactors for as long as the node runs (sweeps, heartbeats).
public struct WorkerTask: Sendable {
    public let name: String
    public let run: @Sendable () async -> Void
    public init(name: String, run: @escaping @Sendable () async -> Void) { self.name = name; self.run = run }
}

/// The worker part of an aggregate kind: a feature conforms its `AggregateKind` to this in its own folder; the
/// runtime runs each reactor it returns as a partition-owning consumer group of its own.
public protocol FeatureWorkers: AggregateKind {
    static func reactors(_ context: WorkerContext) -> [any EventReactor]
    static func tasks(_ context: WorkerContext) -> [WorkerTask]
}

extension FeatureWorkers {
    public static func tasks(_ context: WorkerContext) -> [WorkerTask] { [] }
}
