import Events

/// Field rules of a placement; whether its clusters exist is the API's check against the clusters read model.
public enum PlacementValidation {
    public static let maxClusters = 64
    public static let maxWeight = 10_000
    /// Room is counted in replicas; more than this is more than any placement can use (and keeps sums in range).
    public static let maxAvailable = 1_000_000
    static let inputStates: Set<String> = ["active", "cordoned", "draining", "unhealthy"]

    static func check(_ p: ServicePlacement, into errors: inout [ValidationError]) {
        if p.clusters == nil && p.selector == nil {
            errors.append(.init(field: "clusters", message: "name the clusters, or give a selector, or both"))
        }
        if let clusters = p.clusters {
            if clusters.isEmpty || clusters.count > maxClusters { errors.append(.init(field: "clusters", message: "1-\(maxClusters) cluster names")) }
            if Set(clusters).count != clusters.count { errors.append(.init(field: "clusters", message: "a cluster is named twice")) }
            if let bad = clusters.first(where: { !ServiceValidation.isDNSLabel($0) }) {
                errors.append(.init(field: "clusters", message: "\(ServiceValidation.quoted(bad)) is not a cluster name"))
            }
        }
        if let selector = p.selector {
            if selector.isEmpty || selector.count > 16 { errors.append(.init(field: "selector", message: "1-16 label equalities")) }
            for (k, v) in selector.sorted(by: { $0.key < $1.key }) where !ClusterValidation.isLabelKey(k) || !ClusterValidation.isLabelValue(v) {
                errors.append(.init(field: "selector", message: "\(ServiceValidation.quoted(k)): \(ServiceValidation.quoted(v)) is not a label equality"))
                break
            }
        }
        if let weights = p.weights {
            if p.division != .staticWeight { errors.append(.init(field: "weights", message: "are for the static-weight division only")) }
            for (cluster, w) in weights.sorted(by: { $0.key < $1.key }) where !(1...maxWeight).contains(w) {
                errors.append(.init(field: "weights.\(cluster)", message: "must be 1-\(maxWeight) (got \(w))"))
            }
            if let clusters = p.clusters, let stray = weights.keys.sorted().first(where: { !clusters.contains($0) }) {
                errors.append(.init(field: "weights.\(stray)", message: "names a cluster the placement does not"))
            }
        }
        if let cpu = p.replicaCPUMillis, !(1...256_000).contains(cpu) {
            errors.append(.init(field: "replicaCPUMillis", message: "must be 1-256000"))
        }
        if let memory = p.replicaMemoryBytes, !((1 << 20)...(1 << 40)).contains(memory) {
            errors.append(.init(field: "replicaMemoryBytes", message: "must be 1 MiB - 1 TiB"))
        }
    }
}
