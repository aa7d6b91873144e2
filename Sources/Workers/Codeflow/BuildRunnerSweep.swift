import EventLog
import Events
import Foundation
import Logging
import PostgresNIO
import Projections

/// Every build worker says it is alive every few seconds (`wharf_workers.build_runners`); a running build whose
/// runner has not said so for `lostAfter` is failed as "worker lost", and so is one whose runner was a process of
/// this machine and PID namespace that no longer exists (a node restarted after `kill -9` fails its own dead builds
/// at once instead of after the heartbeat goes stale). The decider takes that only from a build still running under
/// that runner, so a sweep that races a real finish changes nothing. Any node sweeps.
public struct BuildRunnerSweep: Sendable {
    let database: Database
    let queries: ReadModelQueries
    let appender: CommandAppender
    let runner: String
    let logger: Logger
    let every: Duration
    let lostAfter: Duration

    public init(database: Database, queries: ReadModelQueries, appender: CommandAppender, runner: String, logger: Logger,
                every: Duration = .seconds(5), lostAfter: Duration = .seconds(30)) {
        self.database = database; self.queries = queries; self.appender = appender; self.runner = runner; self.logger = logger
        self.every = every; self.lostAfter = lostAfter
    }

    static let statements = [
        "SELECT pg_advisory_xact_lock(\(0x5748_4152_4642 as Int64))",
        "CREATE SCHEMA IF NOT EXISTS wharf_workers",
        "CREATE TABLE IF NOT EXISTS wharf_workers.build_runners (runner text PRIMARY KEY, seen_at timestamptz NOT NULL)",
        // Where the runner's pid means something (boot id and PID namespace): only there can a sweep ask the kernel.
        "ALTER TABLE wharf_workers.build_runners ADD COLUMN IF NOT EXISTS pid_space text",
    ]

    /// This machine's boot and this process's PID namespace: two runners with the same pid space see the same pids.
    static let pidSpace: String = {
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown-boot"
        let namespace = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")) ?? "unknown-pidns"
        return boot + "/" + namespace
    }()

    public func run() async {
        do { try await database.execute(statements: Self.statements) } catch {
            logger.error("build runner table: \(error)")
        }
        while !Task.isCancelled {
            do { try await sweep() } catch {
                if Task.isCancelled { return }
                logger.warning("build runner sweep: \(error)")
            }
            try? await Task.sleep(for: every)
        }
    }

    func sweep() async throws {
        try await database.client.query("""
            INSERT INTO wharf_workers.build_runners (runner, seen_at, pid_space) VALUES (\(runner), now(), \(Self.pidSpace))
            ON CONFLICT (runner) DO UPDATE SET seen_at = now(), pid_space = EXCLUDED.pid_space
            """, logger: database.logger)
        let running = try await queries.builds(inStates: ["running"])
        guard !running.isEmpty else { return }
        let seconds = Double(lostAfter.components.seconds)
        let rows = try await database.client.query("""
            SELECT runner, coalesce(pid_space, ''), seen_at > now() - make_interval(secs => \(seconds))
            FROM wharf_workers.build_runners
            """, logger: database.logger)
        var known: [String: (pidSpace: String, fresh: Bool)] = [:]
        for try await (name, space, fresh) in rows.decode((String, String, Bool).self) { known[name] = (space, fresh) }
        for build in running {
            guard let owner = build.runner, owner != runner else { continue }
            let why: String
            if let seen = known[owner], seen.fresh {
                guard seen.pidSpace == Self.pidSpace, Self.processIsGone(runner: owner) else { continue }
                why = "its process on this host is gone"
            } else {
                why = "it stopped reporting"
            }
            logger.warning("build \(build.id): runner \(owner): \(why); failing it as worker lost")
            let report = FinishBuild(id: build.id, runner: owner, outcome: .failed, commit: build.commit,
                                     reason: "worker lost: runner \(owner) stopped while the build ran (\(why)); retry it with `wharf build retry \(build.id)`")
            try await appender.append(Command(report), id: "build:\(build.id):lost:\(owner)", actor: BuildWorker.actor,
                                      correlationId: build.correlationId, causationId: nil)
        }
    }

    /// Whether the process a runner name (`host:pid:start`) stands for has ended, asked of the kernel: its pid is free,
    /// or it is this process's own pid (then the runner was an earlier process, e.g. PID 1 of a restarted container).
    /// A pid taken by another process since is not judged here; the heartbeat's age decides then.
    static func processIsGone(runner: String) -> Bool {
        let parts = runner.split(separator: ":")
        guard parts.count == 3, let pid = Int32(parts[1]), pid > 0 else { return false }
        if pid == getpid() { return true }
        return kill(pid, 0) == -1 && errno == ESRCH
    }
}
