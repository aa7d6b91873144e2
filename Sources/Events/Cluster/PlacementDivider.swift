/// A placement's division of a service's replicas over the clusters the scheduler saw (`PlacementInput`): the one
/// function the placement scheduler uses to decide and the service decider uses to check the decision again.
///
/// Cluster states: `active` takes replicas; `cordoned` keeps what it holds (static-weight: no more than its share)
/// and takes nothing new; `draining` and `unhealthy` take part no more, so their replicas are divided over the rest,
/// which is how a drain and a failover move a share without touching the healthy clusters' replicas
/// (dynamic-weight and aggregated divide only what moves; static-weight divides from scratch, and Webster never takes
/// a replica from a cluster whose weight share grows).
public enum PlacementDivider {
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
