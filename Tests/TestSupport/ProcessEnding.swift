import Foundation

extension Process {
    /// Signals the process and waits, bounded, until it is gone, then SIGKILL and another bounded wait. Never hangs:
    /// `waitUntilExit` relies on Foundation's exit monitoring, which can stall under the test runner's concurrency,
    /// so this asks the kernel itself (waitpid WNOHANG; ECHILD means someone reaped it already).
    public func end(signal: Int32 = SIGTERM, within limit: Duration = .seconds(10)) {
        let pid = processIdentifier
        guard pid > 0 else { return }
        func gone(within: Duration) -> Bool {
            let deadline = ContinuousClock.now + within
            repeat {
                var status: Int32 = 0
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid || (r == -1 && errno == ECHILD) || !isRunning { return true }
                usleep(20_000)
            } while ContinuousClock.now < deadline
            return false
        }
        if gone(within: .zero) { return }
        kill(pid, signal)
        if gone(within: limit) { return }
        kill(pid, SIGKILL)
        _ = gone(within: .seconds(5))
    }
}
