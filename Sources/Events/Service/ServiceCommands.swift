/// Intents about a Service. Each struct is a command payload; `Command` names them.

public struct CreateService: CommandPayload {
    public static let type = "CreateService"
    public var aggregate: String { AggregateKey.service(name) }
    public var name: String
    public var businessLine: String
    public var image: String
    public var replicas: Int
    public var env: [String: String]
    public var ports: [ServicePort]
    public var healthCheck: HealthCheck?
    public var domain: String?
    /// Sealed values (`SealedSecret`), never plain ones: the API seals what the request carried. nil: none.
    public var secretEnv: [String: String]?

    public init(name: String, businessLine: String, image: String, replicas: Int, env: [String: String] = [:],
                ports: [ServicePort] = [], healthCheck: HealthCheck? = nil, domain: String? = nil, secretEnv: [String: String]? = nil) {
        self.name = name
        self.businessLine = businessLine
        self.image = image
        self.replicas = replicas
        self.env = env
        self.ports = ports
        self.healthCheck = healthCheck
        self.domain = domain
        self.secretEnv = secretEnv
    }
}

/// Replaces each field that is given; absent fields keep their value. `clearHealthCheck`/`clearDomain`
/// remove those optional settings. Secret variables are set one by one (`secretEnv`, sealed values, merged into
/// the ones the service has: nobody can send back values they only see masked) and removed by name
/// (`removeSecretEnv`).
public struct UpdateServiceConfig: CommandPayload {
    public static let type = "UpdateServiceConfig"
    public var aggregate: String { AggregateKey.service(name) }
    public var name: String
    public var env: [String: String]?
    public var ports: [ServicePort]?
    public var healthCheck: HealthCheck?
    public var domain: String?
    public var clearHealthCheck: Bool?
    public var clearDomain: Bool?
    public var secretEnv: [String: String]?
    public var removeSecretEnv: [String]?

    public init(name: String, env: [String: String]? = nil, ports: [ServicePort]? = nil, healthCheck: HealthCheck? = nil,
                domain: String? = nil, clearHealthCheck: Bool? = nil, clearDomain: Bool? = nil,
                secretEnv: [String: String]? = nil, removeSecretEnv: [String]? = nil) {
        self.name = name
        self.env = env
        self.ports = ports
        self.healthCheck = healthCheck
        self.domain = domain
        self.clearHealthCheck = clearHealthCheck
        self.clearDomain = clearDomain
        self.secretEnv = secretEnv
        self.removeSecretEnv = removeSecretEnv
    }
}

public struct UpgradeServiceImage: CommandPayload {
    public static let type = "UpgradeServiceImage"
    public var aggregate: String { AggregateKey.service(name) }
    public var name: String
    public var image: String
    public init(name: String, image: String) { self.name = name; self.image = image }
}

public struct ScaleService: CommandPayload {
    public static let type = "ScaleService"
    public var aggregate: String { AggregateKey.service(name) }
    public var name: String
    public var replicas: Int
    public init(name: String, replicas: Int) { self.name = name; self.replicas = replicas }
}

public struct RollbackService: CommandPayload {
    public static let type = "RollbackService"
    public var aggregate: String { AggregateKey.service(name) }
    public var name: String
    public var revision: Int
    public init(name: String, revision: Int) { self.name = name; self.revision = revision }
}

public struct DestroyService: CommandPayload {
    public static let type = "DestroyService"
    public var aggregate: String { AggregateKey.service(name) }
    public var name: String
    public init(name: String) { self.name = name }
}

/// A line owner asks to see a secret variable's value: recorded in the log before the API opens the value, so
/// every reveal is audited (who, which variable, when).
public struct RevealServiceSecret: CommandPayload {
    public static let type = "RevealServiceSecret"
    public var aggregate: String { AggregateKey.service(name) }
    public var name: String
    public var variable: String
    public init(name: String, variable: String) { self.name = name; self.variable = variable }
}

/// A service's container addresses ("host:port"), until the Kubernetes worker reports real pod addresses.
/// The first `replicas` of them are its live members.
public struct SetServiceAddresses: CommandPayload {
    public static let type = "SetServiceAddresses"
    public var aggregate: String { AggregateKey.service(name) }
    public var name: String
    public var addresses: [String]
    public init(name: String, addresses: [String]) { self.name = name; self.addresses = addresses }
}
