import EventLog
import Logging
import ServiceLifecycle

/// A long-running part of a Wharf node (a partition consumer, the status reporter, a read-model rebuild) as a
/// lifecycle service. Graceful shutdown cancels it: a consumer lets its current batch finish and releases its
/// partitions (a batch still committing is fenced, so the next owner can never fork the chain).
public struct BackgroundService: Service, CustomStringConvertible {
    public let description: String
    private let body: @Sendable () async -> Void

    public init(_ name: String, _ body: @escaping @Sendable () async -> Void) {
        description = name
        self.body = body
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await body() }
    }

    /// A consumer that cannot start (database away) is restarted with backoff, never left dead.
    static func consumer(_ consumer: PartitionConsumer, logger: Logger) -> BackgroundService {
        BackgroundService("consumer \(consumer.group ?? "tail") of \(consumer.topic)") {
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
        }
    }
}
