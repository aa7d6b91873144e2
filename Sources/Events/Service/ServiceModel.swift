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

    enum CodingKeys: String, CodingKey { case name, containerPort, `protocol` }

    /// `protocol` defaults to TCP, as in Kubernetes.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        containerPort = try c.decode(Int.self, forKey: .containerPort)
        self.protocol = try c.decodeIfPresent(String.self, forKey: .protocol) ?? "TCP"
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

    enum CodingKeys: String, CodingKey { case path, port, initialDelaySeconds, periodSeconds }

    /// Delays default as in Kubernetes probes (0 s initial delay, every 10 s).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        port = try c.decode(Int.self, forKey: .port)
        initialDelaySeconds = try c.decodeIfPresent(Int.self, forKey: .initialDelaySeconds) ?? 0
        periodSeconds = try c.decodeIfPresent(Int.self, forKey: .periodSeconds) ?? 10
    }
}

/// What Kubernetes would call the pod template: every change to it is a new revision.
/// Replicas are not part of it (scaling is not a new revision, as in Kubernetes).
public struct PodTemplate: Codable, Hashable, Sendable {
    public var image: String
    public var env: [String: String]
    public var ports: [ServicePort]
    public var healthCheck: HealthCheck?
    /// Variables whose values are sealed (`SealedSecret`): only ciphertext is in the log, never the value.
    public var secretEnv: [String: String]

    public init(image: String, env: [String: String] = [:], ports: [ServicePort] = [], healthCheck: HealthCheck? = nil,
                secretEnv: [String: String] = [:]) {
        self.image = image
        self.env = env
        self.ports = ports
        self.healthCheck = healthCheck
        self.secretEnv = secretEnv
    }

    enum CodingKeys: String, CodingKey { case image, env, ports, healthCheck, secretEnv }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decode(String.self, forKey: .image)
        env = try c.decode([String: String].self, forKey: .env)
        ports = try c.decode([ServicePort].self, forKey: .ports)
        healthCheck = try c.decodeIfPresent(HealthCheck.self, forKey: .healthCheck)
        secretEnv = try c.decodeIfPresent([String: String].self, forKey: .secretEnv) ?? [:]
    }

    /// `secretEnv` is written only when it has variables, so templates from before it existed keep their bytes
    /// (and the hash chain over them).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(image, forKey: .image)
        try c.encode(env, forKey: .env)
        try c.encode(ports, forKey: .ports)
        try c.encodeIfPresent(healthCheck, forKey: .healthCheck)
        if !secretEnv.isEmpty { try c.encode(secretEnv, forKey: .secretEnv) }
    }
}
