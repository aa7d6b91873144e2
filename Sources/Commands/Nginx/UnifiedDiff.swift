import Foundation

/// Unified diff (as `diff -u` prints it, 3 lines of context) between two texts, line by line. The edit script
/// comes from Myers' algorithm (`BoundedMyers`); the hunk formatting is ours.
///
/// Lines are spans of the texts' UTF-8 bytes compared with memcmp (not Characters: grapheme breaking a 60 kB
/// config cost milliseconds), and the common head and tail are set aside before Myers runs, as GNU diff does: a
/// typical edit changes a line or two of a thousand, so the edit script is computed over a handful of lines.
///
/// Bounded: when the shortest edit script of the middle would remove and add more than `maxEditDistance` lines
/// together, or finding it would compare more than `maxWork` pairs of lines, the diff falls back to removing every
/// line between the common head and tail and adding the new ones, in one hunk. Still a correct patch, found in
/// linear time and memory; only not minimal.
public enum UnifiedDiff {
    /// Removed plus added lines up to which the diff is minimal. Myers keeps about maxEditDistance^2 / 2 integers
    /// (8 MB at 2,000) and visits as many diagonals.
    public static let maxEditDistance = 2_000
    /// Line comparisons (each an integer compare) the search may make before it gives up.
    public static let maxWork = 20_000_000

    public static func make(from old: String, to new: String, oldLabel: String = "a", newLabel: String = "b", context: Int = 3) -> String {
        if old == new { return "" }
        let oldBytes = Array(old.utf8), newBytes = Array(new.utf8)
        return oldBytes.withUnsafeBufferPointer { oldBuffer in
            newBytes.withUnsafeBufferPointer { newBuffer in
                make(lines(oldBuffer), lines(newBuffer), oldLabel: oldLabel, newLabel: newLabel, context: context)
            }
        }
    }

    /// One line of a text: a span of its bytes, valid while the text's buffer is.
    /// A last line without a newline differs from the same bytes with one, and is printed with diff's marker.
    struct Line: Hashable {
        let start: UnsafePointer<UInt8>
        let count: Int
        var terminated = true

        static func == (l: Line, r: Line) -> Bool {
            l.count == r.count && l.terminated == r.terminated && memcmp(l.start, r.start, l.count) == 0
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(bytes: UnsafeRawBufferPointer(start: start, count: count))
            hasher.combine(terminated)
        }

        var text: String { String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self) }

        var printed: String { text + (terminated ? "\n" : "\n\\ No newline at end of file\n") }
    }

    private static func make(_ a: [Line], _ b: [Line], oldLabel: String, newLabel: String, context: Int) -> String {
        var head = 0
        while head < a.count, head < b.count, a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head, tail < b.count - head, a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
        var removed = [Bool](repeating: false, count: a.count), inserted = [Bool](repeating: false, count: b.count)
        let (oldMiddle, newMiddle) = classes(a[head..<(a.count - tail)], b[head..<(b.count - tail)])
        if let changes = BoundedMyers.changes(oldMiddle, newMiddle, maxDistance: maxEditDistance, maxWork: maxWork) {
            // Indices count from the start of the middles, which begin after the common head.
            for (i, r) in changes.removed.enumerated() where r { removed[head + i] = true }
            for (j, n) in changes.inserted.enumerated() where n { inserted[head + j] = true }
        } else {
            for i in head..<(a.count - tail) { removed[i] = true }
            for j in head..<(b.count - tail) { inserted[j] = true }
        }
        slideDown(&removed, a, limit: a.count - tail)
        slideDown(&inserted, b, limit: b.count - tail)
        // The edit script as (kind, old index, new index); removals of a run come before its insertions, as diff prints them.
        // Only the changed middle and `context` lines either side of it can be in a hunk.
        enum Kind { case same, remove, insert }
        var ops: [(kind: Kind, i: Int, j: Int)] = []
        let start = max(0, head - context)
        let aEnd = min(a.count, a.count - tail + context), bEnd = min(b.count, b.count - tail + context)
        ops.reserveCapacity(aEnd - start + bEnd - start)
        var i = start, j = start
        while i < aEnd || j < bEnd {
            if i < a.count, removed[i] { ops.append((.remove, i, j)); i += 1 }
            else if j < b.count, inserted[j] { ops.append((.insert, i, j)); j += 1 }
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
                case .same: out += " " + a[op.i].printed
                case .remove: out += "-" + a[op.i].printed
                case .insert: out += "+" + b[op.j].printed
                }
            }
            k = end
        }
        return out
    }

    /// Each line as the number of its equivalence class (equal lines, equal numbers), so Myers compares integers.
    static func classes(_ a: ArraySlice<Line>, _ b: ArraySlice<Line>) -> ([Int32], [Int32]) {
        var numbers: [Line: Int32] = [:]
        numbers.reserveCapacity(a.count + b.count)
        func number(_ line: Line) -> Int32 {
            if let known = numbers[line] { return known }
            let next = Int32(numbers.count)
            numbers[line] = next
            return next
        }
        return (a.map(number), b.map(number))
    }

    private static func range(_ start: Int, _ count: Int) -> String { count == 1 ? "\(start)" : "\(start),\(count)" }

    /// Moves each run of changed lines down while the line after it is unchanged and equal to the run's first line
    /// (still a valid edit script: the kept copy takes over the other's partner), as GNU diff does, so a removed or
    /// added block reads as that block rather than a rotation of it. Runs stay before `limit`, the common tail.
    static func slideDown(_ changed: inout [Bool], _ lines: [Line], limit: Int) {
        var start = 0
        while start < limit {
            guard changed[start] else { start += 1; continue }
            var end = start
            while end < limit, changed[end] { end += 1 }
            while end < limit, lines[start] == lines[end] {
                changed[start] = false
                changed[end] = true
                start += 1
                end += 1
                while end < limit, changed[end] { end += 1 }
            }
            start = end
        }
    }

    /// Lines without their terminators; a final newline does not make an empty last line.
    static func lines(_ bytes: UnsafeBufferPointer<UInt8>) -> [Line] {
        guard let base = bytes.baseAddress else { return [] }
        var out: [Line] = []
        var start = 0
        while start < bytes.count, let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) {
            let end = UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) - base
            out.append(Line(start: base + start, count: end - start))
            start = end + 1
        }
        if start < bytes.count { out.append(Line(start: base + start, count: bytes.count - start, terminated: false)) }
        return out
    }
}
