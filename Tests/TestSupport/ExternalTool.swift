import EventLog
import Foundation

/// Runs a helper program (git, pgrep, python3 scripts under ops/) and returns its exit status and output.
/// Through `ChildProcess` (posix_spawn and waitpid), not Foundation's Process: Process's exit monitoring can stall
/// under the test runner's concurrency, and a `waitUntilExit` that never returns hangs the whole suite.
public enum ExternalTool {
    /// `stdoutOnly`: the output is standard output alone (stderr is dropped), for tools that print JSON.
    /// `cwd` and `env` go through env(1) (`env -C DIR -- NAME=value ... program`); the program is looked up on PATH.
    public static func run(_ argv: [String], cwd: URL? = nil, env extra: [String: String] = [:],
                           stdoutOnly: Bool = false, timeLimit: Duration = .seconds(600)) throws -> (status: Int32, output: String) {
        var command = ["/usr/bin/env"]
        if let cwd { command += ["-C", cwd.path] }
        command += ["--"] + extra.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + argv
        if stdoutOnly { command = ["/bin/sh", "-c", "exec \"$@\" 2>/dev/null", "external-tool"] + command }
        let result = try ChildProcess.run(command, timeLimit: timeLimit)
        if result.timedOut { throw TimedOut(description: "\(argv.joined(separator: " ")) ran past \(timeLimit) and was killed") }
        return (result.status, result.output)
    }

    public struct TimedOut: Error, CustomStringConvertible { public var description: String }
}
