import EventLog
import Foundation
import Testing

/// Child processes run within a time limit: killed with SIGKILL (their process group too) and reaped on expiry and
/// reported as timed out, while a daemon they leave in a session of its own is not waited for and not killed.
@Suite struct ChildProcessTests {
    /// A scratch directory for pid files, removed afterwards.
    struct Scratch {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-child-\(UUID().uuidString)").path
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }
        func pid(_ name: String) throws -> pid_t {
            let text = try String(contentsOfFile: path + "/" + name, encoding: .utf8)
            return try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        func remove() { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Alive and not a zombie (a zombie has ended but was not reaped).
    static func running(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    @Test func aProgramPastItsTimeLimitIsKilledReapedAndReportedAsTimedOut() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let clock = ContinuousClock()
        let started = clock.now
        // The shell becomes sleep (exec), so the pid it writes is the child's own.
        let result = try ChildProcess.run(["/bin/sh", "-c", "echo $$ > \(scratch.path)/child; echo before; exec /bin/sleep 30"],
                                          timeLimit: .milliseconds(500))
        let elapsed = clock.now - started
        #expect(result.timedOut)
        #expect(result.status == 128 + SIGKILL, "\(result.status)")
        #expect(result.output.contains("before"), "output written before the kill is kept: \(result.output)")
        #expect(elapsed >= .milliseconds(500) && elapsed < .milliseconds(500) + .seconds(2), "killed at the limit, not after sleep's 30 s: \(elapsed)")
        // Reaped: not even a zombie remains under its pid.
        let child = try scratch.pid("child")
        #expect(kill(child, 0) == -1 && errno == ESRCH, "pid \(child) still exists")
    }

    @Test func whatTheProgramStartedInItsGroupIsKilledToo() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try ChildProcess.run(["/bin/sh", "-c", "/bin/sleep 30 & echo $! > \(scratch.path)/grandchild; wait"], timeLimit: .milliseconds(500))
        #expect(result.timedOut)
        let grandchild = try scratch.pid("grandchild")
        // Its parent (the shell) is gone, so init reaps it; give the kill a moment to land.
        let deadline = ContinuousClock.now + .seconds(2)
        while Self.running(grandchild), ContinuousClock.now < deadline { usleep(10_000) }
        #expect(!Self.running(grandchild), "sleep \(grandchild), started by the timed-out shell, still runs")
    }

    @Test func aProgramWithinItsLimitReportsItsStatusAndOutput() throws {
        let result = try ChildProcess.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], timeLimit: .seconds(10))
        #expect(!result.timedOut)
        #expect(result.status == 3)
        #expect(result.output == "out\nerr\n")
    }

    /// As `nginx` and `pg_ctl start` do: the launcher leaves a daemon in a session of its own and exits. The call
    /// returns when the launcher exits, and the daemon outlives the time limit.
    @Test func aDaemonThatLeftTheGroupIsNeitherWaitedForNorKilled() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try ChildProcess.run(["/bin/sh", "-c", "/usr/bin/setsid /bin/sleep 30 < /dev/null > /dev/null 2>&1 & echo $! > \(scratch.path)/daemon"],
                                          timeLimit: .milliseconds(500))
        let daemon = try scratch.pid("daemon")
        defer { kill(daemon, SIGKILL) }
        #expect(!result.timedOut && result.status == 0, "\(result)")
        usleep(1_000_000)
        #expect(Self.running(daemon), "the daemon must survive its launcher's time limit")
    }
}
