/// Takes one running pod of a service out of the load balancer, or puts it back (an operator or developer looking
/// at one instance): the pod keeps running, but it is not a live member, so the Nginx upstreams stop sending it
/// requests. It stays out until put back or until the pod is gone.
public struct SetInstanceRotation: CommandPayload {
    public static let type = "SetInstanceRotation"
    public var name: String
    public var cluster: String
    public var pod: String
    public var inRotation: Bool
    public var aggregate: String { AggregateKey.service(name) }
    public init(name: String, cluster: String, pod: String, inRotation: Bool) {
        self.name = name; self.cluster = cluster; self.pod = pod; self.inRotation = inRotation
    }
}

public struct ServiceInstanceRotationSet: EventPayload {
    public static let type = "ServiceInstanceRotationSet"
    public var name: String
    public var cluster: String
    public var pod: String
    public var inRotation: Bool
    public init(name: String, cluster: String, pod: String, inRotation: Bool) {
        self.name = name; self.cluster = cluster; self.pod = pod; self.inRotation = inRotation
    }
}
