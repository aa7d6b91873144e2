/// What runs of a service in one cluster, as the cluster worker saw it: its pods.
public struct ServiceInstance: Codable, Hashable, Sendable {
    public var pod: String
    public var ip: String?
    public var node: String?
    /// Pending, Running, Succeeded, Failed, Unknown.
    public var phase: String
    public var ready: Bool
    public var restarts: Int
    /// Why it is not running or not ready (ImagePullBackOff, CrashLoopBackOff, Unschedulable).
    public var reason: String?
    public var startedAt: String?
    public init(pod: String, ip: String? = nil, node: String? = nil, phase: String, ready: Bool, restarts: Int = 0, reason: String? = nil,
                startedAt: String? = nil) {
        self.pod = pod; self.ip = ip; self.node = node; self.phase = phase; self.ready = ready; self.restarts = restarts
        self.reason = reason; self.startedAt = startedAt
    }
}

/// The cluster worker's view of a service's pods in one cluster, appended when it changed. Ready pods' addresses
/// become the service's live members (the decider sets them, so Nginx upstreams follow).
public struct RecordServiceInstances: CommandPayload {
    public static let type = "RecordServiceInstances"
    public var name: String
    public var cluster: String
    /// Sorted by pod name.
    public var instances: [ServiceInstance]
    public var aggregate: String { AggregateKey.service(name) }
    public init(name: String, cluster: String, instances: [ServiceInstance]) { self.name = name; self.cluster = cluster; self.instances = instances }
}

public struct ServiceInstancesObserved: EventPayload {
    public static let type = "ServiceInstancesObserved"
    public var name: String
    public var cluster: String
    public var instances: [ServiceInstance]
    public init(name: String, cluster: String, instances: [ServiceInstance]) { self.name = name; self.cluster = cluster; self.instances = instances }
}
