import Foundation

/// Runs a program to completion and returns its exit status and combined output (stdout and stderr).
///
/// posix_spawn and waitpid rather than Foundation's Process: Process's exit monitoring can stall inside async code,
/// and programs that daemonize (`pg_ctl start`, nginx) leave a daemon that keeps every inherited descriptor, which
/// makes Process, or anyone reading a pipe, wait for the daemon instead of the command. Output goes through a temp
/// file for the same reason.
public enum ChildProcess {
    public struct Result: Sendable {
        /// The exit code, or 128 + the signal that ended the program.
        public var status: Int32
        public var output: String
    }

    public struct SpawnFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `argv[0]` is the program's path (no PATH search).
    public static func run(_ argv: [String]) throws -> Result {
        guard let program = argv.first else { throw SpawnFailure(description: "no program to run") }
        let outputPath = NSTemporaryDirectory() + "wharf-run-\(UUID().uuidString).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) == 0,
              posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600) == 0,
              posix_spawn_file_actions_adddup2(&actions, 1, 2) == 0 else {
            throw SpawnFailure(description: "cannot prepare the output of \(program)")
        }
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, cArgs, environ)
        guard spawned == 0 else { throw SpawnFailure(description: "cannot start \(program): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SpawnFailure(description: "waiting for \(program) (pid \(pid)): \(String(cString: strerror(errno)))") }
        }
        let exited = (status & 0x7f) == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let data = FileManager.default.contents(atPath: outputPath) ?? Data()
        return Result(status: code, output: String(decoding: data, as: UTF8.self))
    }
}
