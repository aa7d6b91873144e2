/// Where a service's replicas run: which clusters (by name or by label selector) and how the replicas are divided
/// among them (`ReplicaDivision`). The division itself is decided by the placement scheduler and recorded with
/// its inputs (`ServicePlacementDecided`), so a replay explains every split.
public struct ServicePlacement: Codable, Hashable, Sendable {
    public enum Division: String, Codable, Hashable, Sendable, CaseIterable {
        case staticWeight = "static-weight", dynamicWeight = "dynamic-weight", aggregated
    }
    /// Cluster names; with `selector` too, a cluster must be named and match.
    public var clusters: [String]?
    /// Label equalities a cluster's labels must all hold.
    public var selector: [String: String]?
    public var division: Division
    /// `static-weight` only: weight per cluster (> 0); clusters without one get weight 1.
    public var weights: [String: Int]?
    /// What one replica needs, for `dynamic-weight` and `aggregated` (how many more replicas a cluster can hold);
    /// absent: 100 millicores and 128 MiB.
    public var replicaCPUMillis: Int?
    public var replicaMemoryBytes: Int64?

    public init(clusters: [String]? = nil, selector: [String: String]? = nil, division: Division, weights: [String: Int]? = nil,
                replicaCPUMillis: Int? = nil, replicaMemoryBytes: Int64? = nil) {
        self.clusters = clusters; self.selector = selector; self.division = division; self.weights = weights
        self.replicaCPUMillis = replicaCPUMillis; self.replicaMemoryBytes = replicaMemoryBytes
    }

    public static let defaultReplicaCPUMillis = 100
    public static let defaultReplicaMemoryBytes: Int64 = 128 << 20
    public var cpuPerReplica: Int { replicaCPUMillis ?? Self.defaultReplicaCPUMillis }
    public var memoryPerReplica: Int64 { replicaMemoryBytes ?? Self.defaultReplicaMemoryBytes }

    /// Whether a cluster with these labels is one of this placement's.
    public func selects(cluster name: String, labels: [String: String]) -> Bool {
        if let clusters, !clusters.contains(name) { return false }
        if let selector, !selector.allSatisfy({ labels[$0.key] == $0.value }) { return false }
        return true
    }
}

/// One cluster as the scheduler saw it when it divided: what the division used.
public struct PlacementInput: Codable, Hashable, Sendable {
    public var cluster: String
    /// `active`, `cordoned`, `draining` or `unhealthy` (reachable with every node ready is healthy).
    public var state: String
    /// static-weight: its weight.
    public var weight: Int?
    /// dynamic-weight, aggregated: how many more replicas it can hold.
    public var available: Int?
    /// What it held before this decision.
    public var previous: Int
    public init(cluster: String, state: String, weight: Int? = nil, available: Int? = nil, previous: Int) {
        self.cluster = cluster; self.state = state; self.weight = weight; self.available = available; self.previous = previous
    }
}

/// Sets or replaces a service's placement (operators).
public struct SetServicePlacement: CommandPayload {
    public static let type = "SetServicePlacement"
    public var name: String
    public var placement: ServicePlacement
    public var aggregate: String { AggregateKey.service(name) }
    public init(name: String, placement: ServicePlacement) { self.name = name; self.placement = placement }
}

/// The placement scheduler's division of a service's replicas over its clusters, with the inputs it used.
/// The decider divides the inputs again and accepts only the same result for the current replicas and placement.
public struct RecordPlacementDecision: CommandPayload {
    public static let type = "RecordPlacementDecision"
    public var name: String
    /// The placement revision and replica count it divided for (a stale decision is refused).
    public var placementRevision: Int
    public var replicas: Int
    public var inputs: [PlacementInput]
    public var result: [String: Int]
    public var aggregate: String { AggregateKey.service(name) }
    public init(name: String, placementRevision: Int, replicas: Int, inputs: [PlacementInput], result: [String: Int]) {
        self.name = name; self.placementRevision = placementRevision; self.replicas = replicas; self.inputs = inputs; self.result = result
    }
}

public struct ServicePlacementSet: EventPayload {
    public static let type = "ServicePlacementSet"
    public var name: String
    public var placement: ServicePlacement
    /// 1 for the first placement, one more per change.
    public var placementRevision: Int
    public init(name: String, placement: ServicePlacement, placementRevision: Int) {
        self.name = name; self.placement = placement; self.placementRevision = placementRevision
    }
}

public struct ServicePlacementDecided: EventPayload {
    public static let type = "ServicePlacementDecided"
    public var name: String
    public var placementRevision: Int
    public var replicas: Int
    public var division: ServicePlacement.Division
    public var inputs: [PlacementInput]
    /// Replicas per cluster; clusters with none are absent.
    public var result: [String: Int]
    public init(name: String, placementRevision: Int, replicas: Int, division: ServicePlacement.Division, inputs: [PlacementInput],
                result: [String: Int]) {
        self.name = name; self.placementRevision = placementRevision; self.replicas = replicas; self.division = division
        self.inputs = inputs; self.result = result
    }
}

/// Every cluster of the service's division has its share ready: the replicas held where they ran before the
/// division (the previous settled division) can go, and clusters left out of it leave the live members. Until then
/// each cluster keeps the larger of its old and new share, so replicas move by starting first and stopping after
/// (a failed cluster's members stay in the upstreams until their replacements are ready). The pods of clusters the
/// settled division leaves out are forgotten: a returning cluster counts again once it is seen afresh.
public struct ServicePlacementSettled: EventPayload {
    public static let type = "ServicePlacementSettled"
    public var name: String
    /// Replicas per cluster, as in the `ServicePlacementDecided` it settles.
    public var result: [String: Int]
    public init(name: String, result: [String: Int]) { self.name = name; self.result = result }
}
