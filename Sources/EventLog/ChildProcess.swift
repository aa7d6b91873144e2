import Foundation

/// Runs a program to completion, within a time limit, and returns its exit status and combined output (stdout and
/// stderr).
///
/// posix_spawn and waitpid rather than Foundation's Process: Process's exit monitoring can stall inside async code,
/// and programs that daemonize (`pg_ctl start`, nginx) leave a daemon that keeps every inherited descriptor, which
/// makes Process, or anyone reading a pipe, wait for the daemon instead of the command. Output goes through a temp
/// file for the same reason.
///
/// Only the started program is waited for (a daemon it leaves behind is not), so a daemonizing command returns when
/// its launcher exits. A program still running at the time limit is killed with SIGKILL, together with its process
/// group (each program gets a group of its own, so anything it started and that did not leave the group goes too;
/// nginx and pg_ctl put their daemons in sessions of their own), and reaped.
public enum ChildProcess {
    public struct Result: Sendable {
        /// The exit code, or 128 + the signal that ended the program.
        public var status: Int32
        public var output: String
        /// The program ran past its time limit and was killed (then `status` is 128 + SIGKILL).
        public var timedOut: Bool = false
    }

    public struct SpawnFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// For callers that give none; long enough for initdb on a slow disk, short enough that a hung tool is noticed.
    public static let defaultTimeLimit: Duration = .seconds(120)

    /// `argv[0]` is the program's path (no PATH search).
    public static func run(_ argv: [String], timeLimit: Duration = defaultTimeLimit) throws -> Result {
        guard let program = argv.first else { throw SpawnFailure(description: "no program to run") }
        // A fresh 0600 file opened exclusively (a planted symlink cannot redirect the output), unlinked at once: only
        // the descriptor is used, and nothing is left behind.
        let outputPath = NSTemporaryDirectory() + "wharf-run-\(UUID().uuidString).out"
        let output: Int32
        do { output = try PrivateFile.create(outputPath, readable: true) } catch { throw SpawnFailure(description: "\(error)") }
        unlink(outputPath)
        defer { close(output) }
        let pid = try spawn(argv, output: output)

        let timedOut = waitOrKill(pid, timeLimit: timeLimit)
        let code = try reap(pid, program: program)
        return Result(status: code, output: String(decoding: readAll(output), as: UTF8.self), timedOut: timedOut)
    }

    /// Starts `argv` in a process group of its own, stdin from /dev/null, stdout and stderr to `output`.
    /// `environment`: "NAME=value" entries replacing this process's environment (nil: inherit it).
    static func spawn(_ argv: [String], output: Int32, environment: [String]? = nil) throws -> pid_t {
        guard let program = argv.first else { throw SpawnFailure(description: "no program to run") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) == 0,
              posix_spawn_file_actions_adddup2(&actions, output, 1) == 0,
              posix_spawn_file_actions_adddup2(&actions, 1, 2) == 0, closeInherited(&actions) else {
            throw SpawnFailure(description: "cannot prepare the output of \(program)")
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        guard posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP)) == 0, posix_spawnattr_setpgroup(&attributes, 0) == 0 else {
            throw SpawnFailure(description: "cannot prepare a process group for \(program)")
        }
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let cEnv = environment.map { $0.map { strdup($0) } + [nil] }
        defer { cEnv?.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = cEnv.map { env in env.withUnsafeBufferPointer { posix_spawn(&pid, program, &actions, &attributes, cArgs, UnsafeMutablePointer(mutating: $0.baseAddress)) } }
            ?? posix_spawn(&pid, program, &actions, &attributes, cArgs, environ)
        guard spawned == 0 else { throw SpawnFailure(description: "cannot start \(program): \(String(cString: strerror(spawned)))") }
        return pid
    }

    /// Nothing but stdin, stdout and stderr reaches the program: not the database connections or the listening socket of
    /// this process (a build script must not inherit them), nor a pipe a test runner waits on. glibc 2.34+ closes the
    /// rest in one action (looked up at run time: the Swift overlay does not declare it); otherwise every descriptor
    /// open now is closed one by one.
    private static func closeInherited(_ actions: inout posix_spawn_file_actions_t) -> Bool {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            return unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3) == 0
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        for fd in open where fd > 2 { guard posix_spawn_file_actions_addclose(&actions, fd) == 0 else { return false } }
        return true
    }

    /// Waits for `pid` and returns its exit code, or 128 + the signal that ended it.
    static func reap(_ pid: pid_t, program: String) throws -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SpawnFailure(description: "waiting for \(program) (pid \(pid)): \(String(cString: strerror(errno)))") }
        }
        let exited = (status & 0x7f) == 0
        return exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Waits until `pid` ends or `timeLimit` passes; then kills it and its process group with SIGKILL and waits for
    /// that to take effect. Returns whether it was killed. The program is not reaped here (WNOWAIT), so its pid
    /// (and group id) cannot pass to another process before the kill.
    static func waitOrKill(_ pid: pid_t, timeLimit: Duration) -> Bool {
        let ended = DispatchSemaphore(value: 0)
        Thread {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0, errno == EINTR {}
            ended.signal()
        }.start()
        let (seconds, attoseconds) = timeLimit.components
        // Clamped to a year so that the deadline arithmetic cannot overflow.
        let nanoseconds = min(Double(seconds) * 1e9 + Double(attoseconds) / 1e9, 365 * 86_400 * 1e9)
        if ended.wait(timeout: .now() + .nanoseconds(Int(max(0, nanoseconds)))) == .success { return false }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        ended.wait()
        return true
    }

    private static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var offset: off_t = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return data }
            data.append(contentsOf: buffer[0..<n])
            offset += off_t(n)
        }
    }
}
