/// Unified diff (as `diff -u` prints it, 3 lines of context) between two texts, line by line. The edit script
/// comes from the standard library's `difference(from:)` (Myers); only the hunk formatting is ours.
public enum UnifiedDiff {
    public static func make(from old: String, to new: String, oldLabel: String = "a", newLabel: String = "b", context: Int = 3) -> String {
        if old == new { return "" }
        let a = lines(old), b = lines(new)
        let difference = b.difference(from: a)
        var removed = Set<Int>(), inserted = Set<Int>()
        for change in difference {
            switch change {
            case .remove(let offset, _, _): removed.insert(offset)
            case .insert(let offset, _, _): inserted.insert(offset)
            }
        }
        // The edit script as (kind, old index, new index); removals of a run come before its insertions, as diff prints them.
        enum Kind { case same, remove, insert }
        var ops: [(kind: Kind, i: Int, j: Int)] = []
        ops.reserveCapacity(a.count + inserted.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, removed.contains(i) { ops.append((.remove, i, j)); i += 1 }
            else if j < b.count, inserted.contains(j) { ops.append((.insert, i, j)); j += 1 }
            else { ops.append((.same, i, j)); i += 1; j += 1 }
        }
        var out = "--- \(oldLabel)\n+++ \(newLabel)\n"
        var k = 0
        while k < ops.count {
            guard ops[k].kind != .same else { k += 1; continue }
            // A hunk: from `context` lines before this change to `context` lines after the last change that is at most
            // 2 * context lines of sameness away.
            let start = max(0, k - context)
            var end = k
            var lastChange = k
            while end < ops.count {
                if ops[end].kind != .same { lastChange = end }
                else if end - lastChange > 2 * context { break }
                end += 1
            }
            end = min(ops.count, lastChange + context + 1)
            let hunk = ops[start..<end]
            let oldCount = hunk.filter { $0.kind != .insert }.count
            let newCount = hunk.filter { $0.kind != .remove }.count
            let oldStart = oldCount == 0 ? hunk.first!.i : hunk.first!.i + 1
            let newStart = newCount == 0 ? hunk.first!.j : hunk.first!.j + 1
            out += "@@ -\(range(oldStart, oldCount)) +\(range(newStart, newCount)) @@\n"
            for op in hunk {
                switch op.kind {
                case .same: out += " " + a[op.i] + "\n"
                case .remove: out += "-" + a[op.i] + "\n"
                case .insert: out += "+" + b[op.j] + "\n"
                }
            }
            k = end
        }
        return out
    }

    private static func range(_ start: Int, _ count: Int) -> String { count == 1 ? "\(start)" : "\(start),\(count)" }

    /// Lines without their terminators; a final newline does not make an empty last line.
    static func lines(_ text: String) -> [Substring] {
        var parts = text.split(separator: "\n", omittingEmptySubsequences: false)
        if parts.last == "" { parts.removeLast() }
        return parts
    }
}
