/// A placement's division of a service's replicas over the clusters the scheduler saw (`PlacementInput`): the one
/// function the placement scheduler uses to decide and the service decider uses to check the decision again.
///
/// Cluster states: `active` takes replicas; `cordoned` keeps what it holds (static-weight: no more than its share)
/// and takes nothing new; `draining` and `unhealthy` take part no more, so their replicas are divided over the rest,
/// which is how a drain and a failover move a share without touching the healthy clusters' replicas
/// (dynamic-weight and aggregated divide only what moves; static-weight divides from scratch, and Webster never takes
/// a replica from a cluster whose weight share grows).
public enum PlacementDivider {
    /// The division the scheduler records and the decider checks: `divide`, taken in steps when it only moves
    /// replicas between clusters that all take part (a cluster's return, new weights): each step moves at most
    /// `stepLimit(replicas)`, so the surge a move costs (each cluster runs the larger of its old and new share until
    /// the new shares are ready) stays near the rollouts' own 25 %. A move away from a cluster that is draining or
    /// unhealthy, a first division and a change of replicas go at once (waiting would cost capacity, not save it).
    public static func decide(_ replicas: Int, placement: ServicePlacement, inputs: [PlacementInput]) throws -> [String: Int] {
        let target = try divide(replicas, placement: placement, inputs: inputs)
        return step(toward: target, inputs: inputs, replicas: replicas)
    }

    /// At most a quarter of the replicas (at least one) move in one step.
    public static func stepLimit(_ replicas: Int) -> Int { max(1, (replicas + 3) / 4) }

    /// `target` itself, or the first step toward it from the inputs' previous shares. Deterministic: each replica of
    /// the step goes to the cluster with the largest gap still to fill and comes from the one with the largest excess
    /// (ties: the smaller name).
    public static func step(toward target: [String: Int], inputs: [PlacementInput], replicas: Int) -> [String: Int] {
        var previous: [String: Int] = [:]
        for i in inputs where i.previous > 0 { previous[i.cluster] = i.previous }
        guard previous.values.reduce(0, +) == replicas, target.values.reduce(0, +) == replicas else { return target }
        let states = Dictionary(inputs.map { ($0.cluster, $0.state) }, uniquingKeysWith: { a, _ in a })
        let clusters = Set(previous.keys).union(target.keys).sorted()
        let losing = clusters.filter { (target[$0] ?? 0) < (previous[$0] ?? 0) }
        // Replicas a cluster holds without being in the inputs any more (no longer selected) move at once too.
        guard losing.allSatisfy({ ["active", "cordoned"].contains(states[$0] ?? "") }) else { return target }
        let moving = clusters.reduce(0) { $0 + max(0, (target[$1] ?? 0) - (previous[$1] ?? 0)) }
        let limit = stepLimit(replicas)
        guard moving > limit else { return target }
        var result = previous
        func pick(_ remaining: (String) -> Int) -> String? {
            clusters.filter { remaining($0) > 0 }.max { a, b in remaining(a) != remaining(b) ? remaining(a) < remaining(b) : a > b }
        }
        for _ in 0..<limit {
            guard let gainer = pick({ (target[$0] ?? 0) - (result[$0] ?? 0) }), let loser = pick({ (result[$0] ?? 0) - (target[$0] ?? 0) }) else { break }
            result[gainer, default: 0] += 1
            result[loser, default: 0] -= 1
        }
        return result.filter { $0.value > 0 }
    }

    public static func divide(_ replicas: Int, placement: ServicePlacement, inputs: [PlacementInput]) throws -> [String: Int] {
        let active = inputs.filter { $0.state == "active" }
        let cordoned = inputs.filter { $0.state == "cordoned" }
        switch placement.division {
        case .staticWeight:
            func weight(_ i: PlacementInput) -> Int { max(1, i.weight ?? 1) }
            let share = ReplicaDivision.staticWeight(replicas, weights: Dictionary(uniqueKeysWithValues: (active + cordoned).map { ($0.cluster, weight($0)) }))
            var result: [String: Int] = [:]
            for c in cordoned where min(c.previous, share[c.cluster] ?? 0) > 0 { result[c.cluster] = min(c.previous, share[c.cluster] ?? 0) }
            let rest = replicas - result.values.reduce(0, +)
            if rest > 0 {
                guard !active.isEmpty else { throw ReplicaDivision.Shortage(available: 0, needed: rest) }
                result.merge(ReplicaDivision.staticWeight(rest, weights: Dictionary(uniqueKeysWithValues: active.map { ($0.cluster, weight($0)) }))) { $0 + $1 }
            }
            return result
        case .dynamicWeight, .aggregated:
            var available: [String: Int] = [:]
            for a in active { available[a.cluster] = max(0, a.available ?? 0) }
            for c in cordoned { available[c.cluster] = 0 }
            let previous = Dictionary(uniqueKeysWithValues: (active + cordoned).map { ($0.cluster, $0.previous) })
            return placement.division == .dynamicWeight
                ? try ReplicaDivision.dynamicWeight(replicas, available: available, previous: previous)
                : try ReplicaDivision.aggregated(replicas, available: available, previous: previous)
        }
    }
}
