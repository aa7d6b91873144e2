import Testing

/// Waits for a condition the system reaches on its own (pods ready, members moved): polls every 250 ms and, when the
/// time is up, records an issue naming what was awaited and what was last `seen`, then throws `Eventually.TimedOut`.
final class Eventually: @unchecked Sendable {
    /// What the check saw last: set it inside the check, so that a timeout says how far things got.
    var seen = ""
    let defaultSeconds: Int

    struct TimedOut: Error {}

    init(seconds: Int = 60) { defaultSeconds = seconds }

    func until(_ what: String, seconds: Int? = nil, _ check: () async throws -> Bool) async throws {
        let limit = seconds ?? defaultSeconds
        let deadline = ContinuousClock.now + .seconds(limit)
        while ContinuousClock.now < deadline {
            if (try? await check()) == true { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        Issue.record("\(what): not within \(limit) s; last seen: \(seen)")
        throw TimedOut()
    }
}
