/// Myers' O((N+M)D) shortest edit script, with a ceiling on the edit distance D and on the work done, so that two
/// texts that differ almost everywhere cannot cost quadratic time and memory. The decider runs it and has no clock,
/// so it is bounded by work, not by time; past either limit the caller falls back to a whole-region diff.
///
/// The standard library's `difference(from:)` is the same algorithm without a ceiling: it keeps every round's
/// frontier, (D+1)^2 integers, which is gigabytes for a D of tens of thousands.
enum BoundedMyers {
    /// Lines marked removed from `a` and inserted into `b` by a shortest edit script, or nil when the edit distance
    /// exceeds `maxDistance` or the search would compare more than `maxWork` pairs of lines. Lines are equivalence
    /// class numbers: equal lines have equal numbers.
    static func changes(_ a: [Int32], _ b: [Int32], maxDistance: Int, maxWork: Int) -> (removed: [Bool], inserted: [Bool])? {
        let n = a.count, m = b.count
        var removed = [Bool](repeating: false, count: n), inserted = [Bool](repeating: false, count: m)
        let limit = min(maxDistance, n + m)
        // Furthest x reached on diagonal k = x - y, at index k + offset.
        let offset = limit + 1
        var frontier = [Int32](repeating: 0, count: 2 * limit + 3)
        // Round d's frontier for k = -d, -d+2, ..., d, at trace[d * (d + 1) / 2 + (k + d) / 2]: at most about
        // limit^2 / 2 integers.
        var trace: [Int32] = []
        var work = 0
        for d in 0...limit {
            var k = -d
            while k <= d {
                var x = (k == -d || (k != d && frontier[k - 1 + offset] < frontier[k + 1 + offset]))
                    ? Int(frontier[k + 1 + offset]) : Int(frontier[k - 1 + offset]) + 1
                var y = x - k
                while x < n, y < m, a[x] == b[y] { x += 1; y += 1; work += 1 }
                frontier[k + offset] = Int32(x)
                work += 1
                if x >= n, y >= m {
                    // Backtracking starts at (n, m) and reads rounds d-1 down to 0 only.
                    backtrack(trace: trace, distance: d, n: n, m: m, removed: &removed, inserted: &inserted)
                    return (removed, inserted)
                }
                if work > maxWork { return nil }
                k += 2
            }
            trace.append(contentsOf: stride(from: -d, through: d, by: 2).map { frontier[$0 + offset] })
        }
        return nil
    }

    /// Walks the rounds back from (n, m): each round d was reached from round d-1 by one removal or insertion
    /// followed by a run of equal lines.
    private static func backtrack(trace: [Int32], distance: Int, n: Int, m: Int, removed: inout [Bool], inserted: inout [Bool]) {
        func reach(_ d: Int, _ k: Int) -> Int { Int(trace[d * (d + 1) / 2 + (k + d) / 2]) }
        var x = n, y = m
        var d = distance
        while d > 0 {
            let k = x - y
            let down = k == -d || (k != d && reach(d - 1, k - 1) < reach(d - 1, k + 1))
            let previousK = down ? k + 1 : k - 1
            let previousX = reach(d - 1, previousK), previousY = previousX - previousK
            if down { inserted[previousY] = true } else { removed[previousX] = true }
            x = previousX
            y = previousY
            d -= 1
        }
    }
}
