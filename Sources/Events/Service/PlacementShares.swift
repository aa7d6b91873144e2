/// How a service's replicas move from one division to the next without a gap, and which pods are its live members.
/// A new division (`ServicePlacementDecided`) does not take replicas away at once: each cluster runs the larger of its
/// settled and its new share until every new share is ready (`ServicePlacementSettled`), and the pods of a cluster
/// that the move leaves out stay live members until then. So a failed or drained cluster's members leave the
/// upstreams only after their replacements are ready, and a returning cluster's replicas are ready before the others
/// shrink. Pure: the service decider and the cluster worker both use it.
public enum PlacementShares {
    /// Replicas each cluster runs now: the new share once settled, the larger of the two while moving.
    public static func running(result: [String: Int], settled: [String: Int]?) -> [String: Int] {
        guard let settled, settled != result else { return result }
        return result.merging(settled) { max($0, $1) }.filter { $0.value > 0 }
    }

    /// Whether every cluster of `result` has at least its share of ready pods in the load balancer (a pod taken out
    /// of rotation runs, but serves nobody).
    public static func isReady(_ result: [String: Int], instances: [String: [ServiceInstance]], outOfRotation: [String: [String]] = [:]) -> Bool {
        result.allSatisfy { cluster, share in
            (instances[cluster] ?? []).lazy.filter { $0.ready && !(outOfRotation[cluster]?.contains($0.pod) ?? false) }.count >= share
        }
    }

    /// Ready pods' addresses ("ip:port", IPv6 bracketed) of the clusters that hold a share in the division or in the
    /// settled one (every cluster when the service has no division yet), but the pods taken out of rotation
    /// (`outOfRotation`: pod names per cluster). The division's clusters come first, then those only held, each
    /// group in name order: Nginx serves the first `replicas` members, which during a move are the replacements and
    /// the returning share, topped up with the held pods of the clusters being left.
    public static func members(instances: [String: [ServiceInstance]], port: Int, result: [String: Int]?, settled: [String: Int]?,
                               outOfRotation: [String: [String]] = [:]) -> [String] {
        let holding: Set<String>? = result.map { Set($0.filter { $0.value > 0 }.keys).union((settled ?? [:]).filter { $0.value > 0 }.keys) }
        let inDivision = { (cluster: String) in (result?[cluster] ?? 0) > 0 }
        return instances.sorted { (inDivision($0.key) ? 0 : 1, $0.key) < (inDivision($1.key) ? 0 : 1, $1.key) }
            .filter { holding?.contains($0.key) ?? true }.flatMap { cluster, pods in
            pods.filter { $0.ready && !(outOfRotation[cluster]?.contains($0.pod) ?? false) }
        }.compactMap { i in i.ip.map { $0.contains(":") ? "[\($0)]:\(port)" : "\($0):\(port)" } }
    }
}
