/// Kubernetes clusters: keys "cluster/<name>".
public enum ClusterAggregate: AggregateKind {
    public static let kind = "cluster"
    public static let commandTypes: [any CommandPayload.Type] = [RegisterCluster.self, CordonCluster.self, UncordonCluster.self, DrainCluster.self,
                                                                 RemoveCluster.self, RecordClusterHealth.self]
    public static let eventTypes: [any EventPayload.Type] = [ClusterRegistered.self, ClusterSchedulingChanged.self, ClusterRemoved.self,
                                                             ClusterHealthChanged.self]
}

extension AggregateKey {
    public static func cluster(_ name: String) -> String { "\(ClusterAggregate.kind)/\(name)" }
}
