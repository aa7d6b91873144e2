/// What happened to Kubernetes clusters.

public struct ClusterRegistered: EventPayload {
    public static let type = "ClusterRegistered"
    public var name: String
    public var spec: ClusterSpec
    /// Sealed; only the cluster worker opens it.
    public var token: String
    public init(name: String, spec: ClusterSpec, token: String) { self.name = name; self.spec = spec; self.token = token }
}

/// The cluster's scheduling changed: cordoned, uncordoned (`active`) or draining.
public struct ClusterSchedulingChanged: EventPayload {
    public static let type = "ClusterSchedulingChanged"
    public var name: String
    public var scheduling: ClusterScheduling
    public init(name: String, scheduling: ClusterScheduling) { self.name = name; self.scheduling = scheduling }
}

public struct ClusterRemoved: EventPayload {
    public static let type = "ClusterRemoved"
    public var name: String
    public init(name: String) { self.name = name }
}

public struct ClusterHealthChanged: EventPayload {
    public static let type = "ClusterHealthChanged"
    public var name: String
    public var health: ClusterHealth
    /// Whether the cluster counted as healthy before this change (false for the first report).
    public var wasHealthy: Bool
    public init(name: String, health: ClusterHealth, wasHealthy: Bool) { self.name = name; self.health = health; self.wasHealthy = wasHealthy }
}
