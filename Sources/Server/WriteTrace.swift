import Foundation

/// Where a write's time goes, for `wharf bench http --trace`: per stage, the durations of every write seen while
/// set on the gateway. Stages: `append` (the command record's append and commit), `decided` (from then until the
/// outcome tracker had the command's events: processor wake-up, decide, events append, tracker delivery).
public final class WriteTrace: @unchecked Sendable {
    private let lock = NSLock()
    private var stages: [String: [Double]] = [:]

    public init() {}

    public func record(_ stage: String, _ duration: Duration) {
        let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        lock.withLock { stages[stage, default: []].append(ms) }
    }

    /// p50 and p99 in milliseconds per stage, and empties the trace.
    public func drain() -> [(stage: String, p50: Double, p99: Double, count: Int)] {
        let taken = lock.withLock { () -> [String: [Double]] in defer { stages = [:] }; return stages }
        return taken.keys.sorted().map { stage in
            let sorted = taken[stage]!.sorted()
            func pct(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
            return (stage, pct(0.5), pct(0.99), sorted.count)
        }
    }
}
