/// Intents about Kubernetes clusters: registered and retired by operators, their health reported by the cluster worker.

/// Registers a cluster. `token` is sealed by the API (`SealedSecret`), which also checked the API answers with it.
public struct RegisterCluster: CommandPayload {
    public static let type = "RegisterCluster"
    public var name: String
    public var spec: ClusterSpec
    public var token: String
    public var aggregate: String { AggregateKey.cluster(name) }
    public init(name: String, spec: ClusterSpec, token: String) { self.name = name; self.spec = spec; self.token = token }
}

/// Nothing new is placed on the cluster; what runs there stays.
public struct CordonCluster: CommandPayload {
    public static let type = "CordonCluster"
    public var name: String
    public var aggregate: String { AggregateKey.cluster(name) }
    public init(name: String) { self.name = name }
}

/// New replicas may go to the cluster again (ends a drain too).
public struct UncordonCluster: CommandPayload {
    public static let type = "UncordonCluster"
    public var name: String
    public var aggregate: String { AggregateKey.cluster(name) }
    public init(name: String) { self.name = name }
}

/// Cordons the cluster and records it as to be emptied: the placement scheduler moves its share to the other
/// clusters of each placement, as a failover does.
public struct DrainCluster: CommandPayload {
    public static let type = "DrainCluster"
    public var name: String
    public var aggregate: String { AggregateKey.cluster(name) }
    public init(name: String) { self.name = name }
}

/// Retires the cluster. The API refuses while placements still hold replicas there (drain first).
public struct RemoveCluster: CommandPayload {
    public static let type = "RemoveCluster"
    public var name: String
    public var aggregate: String { AggregateKey.cluster(name) }
    public init(name: String) { self.name = name }
}

/// The cluster worker's view of the cluster, appended when it differs from the last one recorded.
public struct RecordClusterHealth: CommandPayload {
    public static let type = "RecordClusterHealth"
    public var name: String
    public var health: ClusterHealth
    public var aggregate: String { AggregateKey.cluster(name) }
    public init(name: String, health: ClusterHealth) { self.name = name; self.health = health }
}
