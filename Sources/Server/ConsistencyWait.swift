import EventLog
import Events
import Foundation
import Hummingbird
import Projections

/// `?after=<position>` on a GET: wait (bounded) until the projections have applied that events position, so a
/// portal reading right after its own write sees it.
public struct ConsistencyWait: Sendable {
    let queries: ReadModelQueries
    let log: any EventLog
    var timeout: Duration = .seconds(5)

    func wait(for request: Request) async throws {
        guard let text = request.uri.queryParameters.get("after") else { return }
        guard let position = LogPosition(text) else {
            throw APIError(.badRequest, "after must be a position like \"3:1527\" (partition:offset), as returned by a write", field: "after")
        }
        let partitions = try await log.partitionCount(topic: Topics.events)
        guard position.partition < partitions,
              position.offset < (try await log.endOffset(topic: Topics.events, partition: position.partition)) else {
            throw APIError(.badRequest, "after=\(position) is not a position in the events log", field: "after")
        }
        guard try await projected(position) else {
            throw APIError(.gatewayTimeout, "projections have not reached position \(position) within \(timeout); try again", field: "after")
        }
    }

    /// Whether the projections apply `position` within the timeout (false when they do not).
    func projected(_ position: LogPosition) async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var pause = Duration.milliseconds(2)
        while true {
            let progress = try await queries.progress()
            if (progress[position.partition] ?? 0) > position.offset { return true }
            if clock.now >= deadline { return false }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        }
    }
}
