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
    public init(log: any EventLog, queries: ReadModelQueries, logger: Logger, signer: CheckpointSigner? = nil) {
        self.log = log; self.queries = queries; self.logger = logger; self.signer = signer
    }
}

/// The worker part of an aggregate kind: a feature conforms its `AggregateKind` to this in its own folder; the
/// runtime runs each reactor it returns as a partition-owning consumer group of its own.
public protocol FeatureWorkers: AggregateKind {
    static func reactors(_ context: WorkerContext) -> [any EventReactor]
}
