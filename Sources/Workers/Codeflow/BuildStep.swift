import EventLog
import Foundation

/// Runs one program of a build with its output in the build log, off the cooperative threads.
enum BuildStep {
    /// Every step dies with Wharf (`setpriv --pdeathsig KILL`, kept across the exec): after a `kill -9` of the worker
    /// nothing goes on building, or pushing, for a build that will be failed as "worker lost". The signal follows the
    /// spawning thread, which here lives exactly as long as the step.
    static let dieWithWharf: [String] = BuildSettings.findOnPath("setpriv").map { [$0, "--pdeathsig", "KILL", "--"] } ?? []

    /// Fails with `what` and the exit status (or the time limit, or the cancellation) unless the program exits 0.
    static func run(_ argv: [String], shownAs shown: String? = nil, what: String, log: BuildLogFile, environment: [String]? = nil,
                    timeLimit: Duration, cancellation: ChildProcess.Cancellation) async throws {
        log.line("$ " + (shown ?? argv.joined(separator: " ")))
        let result = try await withCheckedThrowingContinuation { (c: CheckedContinuation<ChildProcess.StreamedResult, Error>) in
            Thread {
                c.resume(with: Result { try ChildProcess.run(dieWithWharf + argv, appendingTo: log.fd, environment: environment, timeLimit: timeLimit,
                                                             cancellation: cancellation) })
            }.start()
        }
        if result.cancelled { throw BuildCancelledError() }
        if result.timedOut { throw BuildFailure("\(what) ran past its time limit of \(timeLimit) and was killed") }
        if result.status != 0 { throw BuildFailure("\(what) exited with status \(result.status)") }
    }

    /// Runs a short program and returns what it printed (git rev-parse and the like).
    static func output(_ argv: [String], timeLimit: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<(status: Int32, output: String), Error>) in
            Thread {
                c.resume(with: Result {
                    let r = try ChildProcess.run(argv, timeLimit: timeLimit)
                    return (r.status, r.output)
                })
            }.start()
        }
    }
}

struct BuildCancelledError: Error {}
