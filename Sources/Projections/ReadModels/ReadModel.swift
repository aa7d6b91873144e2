import Events
import EventLog
import Logging
import PostgresNIO

/// One event of a projector batch, decoded once. A class: read models pass over a batch several times, and copying
/// an envelope (a dozen strings) on every access cost more than the rest of a bulk load.
public final class ProjectedEvent: Sendable {
    public let envelope: EventEnvelope
    public let record: LogRecord
    public init(envelope: EventEnvelope, record: LogRecord) { self.envelope = envelope; self.record = record }
}

/// The events of one projector batch, handed to every read model in log order.
public typealias ProjectedEvents = [ProjectedEvent]

/// A read model: its own tables, its own layout version and its batch apply. It is disposable: the log rebuilds
/// it, and a layout change rebuilds only this model (beside the live one, then swapped in) while the others serve.
public protocol ReadModel: Sendable {
    /// Its name in `wharf_read.layout` ("services", "nginx", "audit").
    var name: String { get }
    /// Bump whenever a table's shape or content rule changes.
    var layoutVersion: Int { get }
    /// Its tables, unqualified; they move as a whole when a rebuild is swapped in.
    var tables: [String] { get }
    /// CREATE statements (IF NOT EXISTS) of its tables in `schema`.
    func createStatements(schema: String) -> [String]
    /// CREATE INDEX statements (IF NOT EXISTS) of its secondary indexes. A rebuild creates them after the bulk
    /// replay, which is cheaper than maintaining them row by row.
    func indexStatements(schema: String) -> [String]
    /// Applies a batch inside the projector's transaction; must give the same rows however batches are cut.
    func apply(_ events: ProjectedEvents, schema: String, on connection: PostgresConnection, logger: Logger) async throws
    /// Applies a batch of a rebuild's bulk load from offset zero: the tables may lack the indexes of
    /// `indexStatements`, and every command's events arrive in one batch, so a model can append (COPY) where `apply`
    /// has to upsert. Defaults to `apply`.
    func bulkApply(_ events: ProjectedEvents, schema: String, on connection: PostgresConnection, logger: Logger) async throws
}

extension ReadModel {
    public func indexStatements(schema: String) -> [String] { [] }
    public func bulkApply(_ events: ProjectedEvents, schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await apply(events, schema: schema, on: connection, logger: logger)
    }
}

/// The projection part of an aggregate kind: a feature conforms its `AggregateKind` to this in its own folder.
public protocol ProjectedAggregate: AggregateKind {
    static var readModels: [any ReadModel] { get }
}

/// Every read model: the audit (fed by every event) and those of the registered aggregate kinds.
public enum ReadModels {
    public static var all: [any ReadModel] {
        [AuditReadModel()] + Aggregates.registered.flatMap { ($0 as? any ProjectedAggregate.Type)?.readModels ?? [] }
    }
}
