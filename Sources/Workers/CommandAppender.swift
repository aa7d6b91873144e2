import EventLog
import Events
import Foundation

/// Appends a worker's report outside a reaction (a build that finishes minutes after its event was handled), through
/// the same authenticated path as the API. The caller names the command id, so a repeated report (a retry after a
/// crash) is decided once.
public struct CommandAppender: Sendable {
    let log: any EventLog
    let authenticator: CommandAuthenticator
    let partitions: Int

    public init(log: any EventLog, authenticator: CommandAuthenticator, partitions: Int) {
        self.log = log; self.authenticator = authenticator; self.partitions = partitions
    }

    public func append(_ command: Command, id: String, actor: String, correlationId: String, causationId: String?) async throws {
        let envelope = CommandEnvelope(id: id, actor: actor, time: WharfTime.format(Date()), correlationId: correlationId, causationId: causationId,
                                       command: command)
        _ = try await log.append(topic: Topics.commands, partition: Partitioner.partition(for: envelope.aggregate, partitions: partitions),
                                 records: [try authenticator.record(envelope)])
    }
}
