import Foundation

extension ChildProcess {
    /// Lets another task end a running program: `cancel()` kills its process group (SIGKILL), now or, when it has not
    /// started yet, as soon as it starts.
    public final class Cancellation: @unchecked Sendable {
        private let lock = NSLock()
        private var pid: pid_t?
        private var cancelled = false

        public init() {}

        public var isCancelled: Bool { lock.withLock { cancelled } }

        public func cancel() {
            let target: pid_t? = lock.withLock { cancelled = true; return pid }
            if let target { kill(-target, SIGKILL); kill(target, SIGKILL) }
        }

        /// Records the started program; true when it was cancelled meanwhile (and has been killed).
        func started(_ pid: pid_t) -> Bool {
            let wasCancelled: Bool = lock.withLock { self.pid = pid; return cancelled }
            if wasCancelled { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
            return wasCancelled
        }

        func ended() { lock.withLock { pid = nil } }
    }

    public struct StreamedResult: Sendable {
        public var status: Int32
        public var timedOut: Bool
        public var cancelled: Bool
    }

    /// Runs `argv` with its output appended to `output` as it comes (a build log that a reader follows), within a time
    /// limit; `cancellation` may end it early. Blocks the calling thread: call it off the cooperative pool.
    public static func run(_ argv: [String], appendingTo output: Int32, environment: [String]? = nil, timeLimit: Duration,
                           cancellation: Cancellation) throws -> StreamedResult {
        if cancellation.isCancelled { return StreamedResult(status: 128 + SIGKILL, timedOut: false, cancelled: true) }
        let pid = try spawn(argv, output: output, environment: environment)
        _ = cancellation.started(pid)
        defer { cancellation.ended() }
        let timedOut = waitOrKill(pid, timeLimit: timeLimit)
        let code = try reap(pid, program: argv[0])
        return StreamedResult(status: code, timedOut: timedOut, cancelled: cancellation.isCancelled)
    }
}
