/// How a service's replicas are split over the clusters of its placement: the divisions of Karmada v1.16+
/// (Webster / Sainte-Laguë highest averages; karmada#6793 for static weight, karmada#6837 for dynamic weight and
/// aggregated), pure and deterministic so that a replay of the log divides exactly as the decision did.
///
/// Differences from Karmada, on purpose:
/// - Priorities are compared exactly (`w_a * (2 s_b + 1)` against `w_b * (2 s_a + 1)` in integers), not as floats.
/// - An exact tie goes to the cluster with fewer replicas so far, then to the smaller name. Karmada takes the
///   smaller or the larger name by the parity of a hash of the workload's UID; a name order is easier to explain
///   and the issue asks for it.
/// - There is no "fresh" reschedule mode (Karmada's user-triggered reschedule); a failover re-divides through the
///   scale-up path over the healthy clusters, which never moves a healthy cluster's replicas away.
public enum ReplicaDivision {
    /// Not enough room in the candidate clusters for the replicas to place.
    public struct Shortage: Error, Equatable, CustomStringConvertible {
        public var available: Int
        public var needed: Int
        public var description: String { "the clusters can hold \(available) more replicas, \(needed) are needed" }
    }

    /// Hands out `seats` more replicas one at a time, each to the cluster with the highest `weight / (2 * assigned + 1)`,
    /// starting from `initial`. Clusters only in `initial` keep their replicas and get no more. Weights must be >= 0;
    /// with no positive weight nothing is handed out.
    public static func webster(_ seats: Int, weights: [String: Int], initial: [String: Int] = [:]) -> [String: Int] {
        var result = initial
        for name in weights.keys where result[name] == nil { result[name] = 0 }
        let voters = weights.filter { $0.value > 0 }.map { (name: $0.key, weight: $0.value) }
        guard seats > 0, !voters.isEmpty else { return result }
        for _ in 0..<seats {
            var best = voters[0]
            for candidate in voters.dropFirst() where wins(candidate, over: best, seats: result) { best = candidate }
            result[best.name, default: 0] += 1
        }
        return result
    }

    /// True when `a` takes the next replica before `b`.
    static func wins(_ a: (name: String, weight: Int), over b: (name: String, weight: Int), seats: [String: Int]) -> Bool {
        let (sa, sb) = (seats[a.name] ?? 0, seats[b.name] ?? 0)
        let left = a.weight.multipliedReportingOverflow(by: 2 * sb + 1), right = b.weight.multipliedReportingOverflow(by: 2 * sa + 1)
        if !left.overflow, !right.overflow, left.partialValue != right.partialValue { return left.partialValue > right.partialValue }
        if left.overflow || right.overflow {
            let (pa, pb) = (Double(a.weight) / Double(2 * sa + 1), Double(b.weight) / Double(2 * sb + 1))
            if pa != pb { return pa > pb }
        }
        if sa != sb { return sa < sb }
        return a.name < b.name
    }

    /// `static-weight`: the whole count divided by the weights, from scratch every time (Webster never takes a
    /// replica from a cluster when the count grows). Clusters without a weight take no part; if no weight is
    /// positive every cluster counts as weight 1. Capacity is not consulted.
    public static func staticWeight(_ replicas: Int, weights: [String: Int]) -> [String: Int] {
        let positive = weights.filter { $0.value > 0 }
        let used = positive.isEmpty ? weights.mapValues { _ in 1 } : positive
        return webster(replicas, weights: used).filter { $0.value > 0 }
    }

    /// `dynamic-weight`: weights are the replicas each cluster can still take (`available`). Growing divides only the
    /// increment by capacity (as Karmada: on its own, then added) and adds it to what the clusters hold (`previous`, restricted to the candidates), so no
    /// running replica moves; shrinking divides the new count in proportion to what each cluster holds now.
    public static func dynamicWeight(_ replicas: Int, available: [String: Int], previous: [String: Int]) throws -> [String: Int] {
        let held = previous.filter { available[$0.key] != nil && $0.value > 0 }
        let assigned = held.values.reduce(0, +)
        if assigned == replicas { return held }
        if assigned > replicas { return webster(replicas, weights: held).filter { $0.value > 0 } }
        let increment = replicas - assigned
        let room = available.values.reduce(0) { $0 + max(0, $1) }
        guard room >= increment else { throw Shortage(available: room, needed: increment) }
        return adding(webster(increment, weights: available.mapValues { max(0, $0) }), to: held)
    }

    /// `aggregated`: as few clusters as can hold the replicas. Clusters are taken in order of room (most first, by
    /// name among equals), those already holding replicas first, until their room covers what is to place; the
    /// replicas are divided among those in proportion to their room. Shrinking keeps the clusters holding most.
    public static func aggregated(_ replicas: Int, available: [String: Int], previous: [String: Int]) throws -> [String: Int] {
        let held = previous.filter { available[$0.key] != nil && $0.value > 0 }
        let assigned = held.values.reduce(0, +)
        if assigned == replicas { return held }
        if assigned > replicas {
            let chosen = prefix(covering: replicas, ordered(held))
            return webster(replicas, weights: chosen).filter { $0.value > 0 }
        }
        let increment = replicas - assigned
        let byRoom = ordered(available.mapValues { max(0, $0) })
        let order = byRoom.filter { held[$0.name] != nil } + byRoom.filter { held[$0.name] == nil }
        let chosen = prefix(covering: increment, order)
        let room = chosen.values.reduce(0, +)
        guard room >= increment else { throw Shortage(available: room, needed: increment) }
        return adding(webster(increment, weights: chosen), to: held)
    }

    /// The increment is divided on its own (as if nothing ran yet) and then added: dividing it on top of what the
    /// clusters hold would give a fresh cluster all of it.
    static func adding(_ increment: [String: Int], to held: [String: Int]) -> [String: Int] {
        held.merging(increment, uniquingKeysWith: +).filter { $0.value > 0 }
    }

    /// Most first, then by name: a deterministic order for equal values.
    static func ordered(_ values: [String: Int]) -> [(name: String, value: Int)] {
        values.map { (name: $0.key, value: $0.value) }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.name < $1.name }
    }

    /// The shortest prefix of `order` whose values reach `target` (all of it when they never do).
    static func prefix(covering target: Int, _ order: [(name: String, value: Int)]) -> [String: Int] {
        var chosen: [String: Int] = [:]
        var sum = 0
        for entry in order {
            if sum >= target, !chosen.isEmpty { break }
            chosen[entry.name] = entry.value
            sum += entry.value
        }
        return chosen
    }
}
