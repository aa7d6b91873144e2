/// Value types shared by Service commands, events and read models.

public struct ServicePort: Codable, Hashable, Sendable {
    public var name: String?
    public var containerPort: Int
    public var `protocol`: String

    public init(name: String? = nil, containerPort: Int, protocol: String = "TCP") {
        self.name = name
        self.containerPort = containerPort
        self.protocol = `protocol`
    }
}

public struct HealthCheck: Codable, Hashable, Sendable {
    public var path: String
    public var port: Int
    public var initialDelaySeconds: Int
    public var periodSeconds: Int

    public init(path: String, port: Int, initialDelaySeconds: Int = 0, periodSeconds: Int = 10) {
        self.path = path
        self.port = port
        self.initialDelaySeconds = initialDelaySeconds
        self.periodSeconds = periodSeconds
    }
}

/// What Kubernetes would call the pod template: every change to it is a new revision.
/// Replicas are not part of it (scaling is not a new revision, as in Kubernetes).
public struct PodTemplate: Codable, Hashable, Sendable {
    public var image: String
    public var env: [String: String]
    public var ports: [ServicePort]
    public var healthCheck: HealthCheck?

    public init(image: String, env: [String: String] = [:], ports: [ServicePort] = [], healthCheck: HealthCheck? = nil) {
        self.image = image
        self.env = env
        self.ports = ports
        self.healthCheck = healthCheck
    }
}
