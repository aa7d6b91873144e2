import AsyncHTTPClient
import EventLog
import Events
import Foundation
import Logging
import Projections

/// The build worker ("build"): runs queued builds, at most `parallelism` at once on this node and at most the
/// codeflow's own `parallelism` at once across all nodes (`CodeflowBuildSlots`), and turns every succeeded build
/// into the service's upgrade to the pushed digest.
///
/// A build is claimed through the log: the worker appends `StartBuild` with its runner name and goes ahead only
/// once the read model shows the build running under that name, so a redelivered `BuildQueued` (after a crash)
/// or a build cancelled while it waited never runs twice or at all. While a build runs, the worker looks at its
/// state every second and kills the process tree when it was cancelled. A build whose runner stopped reporting is
/// failed by `BuildRunnerSweep` ("worker lost").
public final class BuildWorker: EventReactor, @unchecked Sendable {
    public let name = "build"
    let settings: BuildSettings
    let queries: ReadModelQueries
    let appender: CommandAppender
    let logger: Logger
    let runner: String
    let slots: BuildSlots
    let codeflowSlots: CodeflowBuildSlots
    let http: HTTPClient

    public init(settings: BuildSettings, queries: ReadModelQueries, appender: CommandAppender, runner: String, database: Database, logger: Logger) {
        self.settings = settings; self.queries = queries; self.appender = appender; self.runner = runner; self.logger = logger
        slots = BuildSlots(count: settings.parallelism)
        codeflowSlots = CodeflowBuildSlots(database: database, logger: logger)
        http = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    deinit { try? http.syncShutdown() }

    public static let actor = "system:build"

    public func react(to event: EventEnvelope, at position: LogPosition) async throws -> [Command] {
        if let done = event.event.as(BuildSucceeded.self) {
            // Causation is this event (the runtime sets it), so the audit reads webhook -> build -> upgrade.
            return [Command(UpgradeServiceImage(name: done.service, image: done.pinnedImage))]
        }
        guard let queued = event.event.as(BuildQueued.self) else { return [] }
        // Waiting here holds this partition's later events back: the log is the queue, in order. The codeflow's
        // slot first: a build waiting for its own codeflow should not sit on a node slot another codeflow could use.
        let lease = try await codeflowSlots.acquire(codeflow: queued.codeflow, count: queued.spec.parallelism)
        await slots.acquire()
        do {
            guard try await claim(queued, event: event) else { await slots.release(); await lease.release(); return [] }
        } catch {
            await slots.release()
            await lease.release()
            throw error
        }
        let job = BuildJob(build: queued, settings: settings, registry: RegistryClient(settings: settings, http: http), runner: runner,
                           logger: logger, cancellation: ChildProcess.Cancellation())
        Task { [self] in
            await run(job, event: event)
            await lease.release()
            await slots.release()
        }
        return []
    }

    /// Appends `StartBuild` (unless the build is no longer queued) and waits until the read model shows it ours.
    private func claim(_ build: BuildQueued, event: EventEnvelope) async throws -> Bool {
        if let row = try await queries.build(id: build.id), row.state != "queued" {
            if row.state == "running", row.runner == runner { return false }  // ours already, running in this process
            logger.info("build \(build.id) is \(row.state): not started again")
            return false
        }
        try await appender.append(Command(StartBuild(id: build.id, runner: runner)), id: "build:\(build.id):start:\(runner)",
                                  actor: Self.actor, correlationId: event.correlationId, causationId: event.id)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let row = try await queries.build(id: build.id), row.state != "queued" {
                return row.state == "running" && row.runner == runner
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        logger.warning("build \(build.id): the claim was not decided within 30 s; left for the sweep")
        return false
    }

    private func run(_ job: BuildJob, event: EventEnvelope) async {
        let id = job.build.id
        logger.info("build \(id) of \(job.build.codeflow) started")
        let watcher = Task { [queries, logger] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                do {
                    if let row = try await queries.build(id: id), row.state == "cancelled" {
                        logger.info("build \(id) was cancelled: killing its processes")
                        job.cancellation.cancel()
                        return
                    }
                } catch { continue }
            }
        }
        let report = await job.run()
        watcher.cancel()
        guard let report else { return }
        logger.info("build \(id) \(report.outcome.rawValue)\(report.reason.map { ": \($0)" } ?? "")")
        // Retried until the log takes it: the id makes a repeat harmless.
        for attempt in 0..<20 {
            do {
                try await appender.append(Command(report), id: "build:\(id):finish:\(runner)", actor: Self.actor,
                                          correlationId: event.correlationId, causationId: event.id)
                return
            } catch {
                logger.error("build \(id): reporting the result failed (attempt \(attempt + 1)): \(error)")
                try? await Task.sleep(for: .seconds(min(30, 1 << min(attempt, 5))))
            }
        }
    }
}
