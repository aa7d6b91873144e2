import EventLog
import Events
import Foundation
import Logging
import PostgresNIO

/// A worker does things in the world in reaction to events and reports back by appending commands as actor
/// "system:<name>" (rule 4: workers are actors, not writers). It never writes events or read models.
public protocol EventReactor: Sendable {
    /// Stable name; also the consumer group and the actor suffix.
    var name: String { get }
    /// Performs the side effect for one event (idempotent by a key carried in the event) and returns the
    /// commands that report its result.
    func react(to event: EventEnvelope, at position: LogPosition) async throws -> [Command]
    /// Called with a batch's events before `react` sees any of them (work that one batch can share).
    func prepare(for events: [EventEnvelope]) async throws
}

extension EventReactor {
    public func prepare(for events: [EventEnvelope]) async throws {}
}

/// Runs an `EventReactor` over the events partitions its group owns. Commands it appends get a command id derived
/// from the worker and the event id, so a redelivered event yields the same ids and the processor decides them
/// once; the worker's offset is stored after the append (at least once + dedupe = effectively once).
public enum WorkerRuntime {
    static let statements = [
        "SELECT pg_advisory_xact_lock(\(0x5748_4152_4634 as Int64))",
        "CREATE SCHEMA IF NOT EXISTS wharf_workers",
        """
        CREATE TABLE IF NOT EXISTS wharf_workers.offsets (
            worker text NOT NULL, partition int NOT NULL, next_offset bigint NOT NULL, PRIMARY KEY (worker, partition)
        )
        """,
    ]

    public static func prepare(database: Database) async throws {
        try await database.execute(statements: statements)
    }

    /// `authenticator`: workers append commands through the same authenticated path as the API.
    public static func consumer(reactor: any EventReactor, log: any EventLog, database: Database, partitions: Int,
                                authenticator: CommandAuthenticator, health: PartitionHealth = PartitionHealth(), logger: Logger) -> PartitionConsumer {
        PartitionConsumer(log: log, topic: Topics.events, group: "worker:\(reactor.name)", batchSize: 200, includeChain: false,
                          health: health, logger: logger) { p in
            ReactorPartition(reactor: reactor, log: log, database: database, partition: p, partitions: partitions, authenticator: authenticator)
        }
    }
}

final class ReactorPartition: PartitionWorker {
    let reactor: any EventReactor, log: any EventLog, database: Database, partition: Int, partitions: Int
    let authenticator: CommandAuthenticator

    init(reactor: any EventReactor, log: any EventLog, database: Database, partition: Int, partitions: Int, authenticator: CommandAuthenticator) {
        self.reactor = reactor; self.log = log; self.database = database; self.partition = partition; self.partitions = partitions
        self.authenticator = authenticator
    }

    func start() async throws -> Int64 {
        let rows = try await database.client.query("""
            SELECT next_offset FROM wharf_workers.offsets WHERE worker = \(reactor.name) AND partition = \(partition)
            """, logger: database.logger)
        for try await next in rows.decode(Int64.self) { return next }
        return 0
    }

    private var offsetStoredAt = ContinuousClock.now

    /// The offset is stored after a batch that appended commands, otherwise at most once a second: it only says where
    /// to resume, and a redelivered event reacts again and yields the same command ids.
    func handle(_ records: [LogRecord]) async throws {
        var appended = false
        let events = try records.map { try EventEnvelope.decodeStored($0.value) }
        try await reactor.prepare(for: events)
        for (record, event) in zip(records, events) {
            let commands = try await reactor.react(to: event, at: record.position)
            for (index, command) in commands.enumerated() {
                let envelope = CommandEnvelope(id: "\(reactor.name):\(event.id):\(index)", actor: "system:\(reactor.name)", time: WharfTime.format(Date()),
                                               correlationId: event.correlationId, causationId: event.id, command: command)
                try await log.append(topic: Topics.commands, partition: Partitioner.partition(for: envelope.aggregate, partitions: partitions),
                                     records: [try authenticator.record(envelope)])
                appended = true
            }
        }
        guard let last = records.last, appended || ContinuousClock.now - offsetStoredAt >= .seconds(1) else { return }
        offsetStoredAt = .now
        try await database.client.query("""
            INSERT INTO wharf_workers.offsets (worker, partition, next_offset) VALUES (\(reactor.name), \(partition), \(last.offset + 1))
            ON CONFLICT (worker, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset
            """, logger: database.logger)
    }
}
