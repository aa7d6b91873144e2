import Events

/// Request bodies of the service routes and the fields each may carry (anything else is a 422).
struct CreateServiceRequest: Decodable {
    var name: String
    var businessLine: String
    var image: String
    var replicas: Int
    var env: [String: String]?
    var ports: [ServicePort]?
    var healthCheck: HealthCheck?
    var domain: String?
    /// Plain values; the route seals them before anything is appended.
    var secretEnv: [String: String]?

    static let portShape: StrictJSON.Shape = .object(["name": .value, "containerPort": .value, "protocol": .value])
    static let healthShape: StrictJSON.Shape = .object(["path": .value, "port": .value, "initialDelaySeconds": .value, "periodSeconds": .value])
    static let shape: [String: StrictJSON.Shape] = [
        "name": .value, "businessLine": .value, "image": .value, "replicas": .value, "env": .map,
        "ports": .array(portShape), "healthCheck": healthShape, "domain": .value, "secretEnv": .map,
    ]

    func command(sealedSecrets: [String: String]?) -> Command {
        Command(CreateService(name: name, businessLine: businessLine, image: image, replicas: replicas, env: env ?? [:],
                              ports: ports ?? [], healthCheck: healthCheck, domain: domain, secretEnv: sealedSecrets))
    }
}

struct UpdateServiceRequest: Decodable {
    var env: [String: String]?
    var ports: [ServicePort]?
    var healthCheck: HealthCheck?
    var domain: String?
    var clearHealthCheck: Bool?
    var clearDomain: Bool?
    /// Plain values, sealed by the route; merged into the service's secret variables.
    var secretEnv: [String: String]?
    var removeSecretEnv: [String]?

    static let shape: [String: StrictJSON.Shape] = [
        "env": .map, "ports": .array(CreateServiceRequest.portShape), "healthCheck": CreateServiceRequest.healthShape,
        "domain": .value, "clearHealthCheck": .value, "clearDomain": .value, "secretEnv": .map, "removeSecretEnv": .array(.value),
    ]
}

struct ScaleRequest: Decodable {
    var replicas: Int
    static let shape: [String: StrictJSON.Shape] = ["replicas": .value]
}

struct UpgradeRequest: Decodable {
    var image: String
    static let shape: [String: StrictJSON.Shape] = ["image": .value]
}

struct RollbackRequest: Decodable {
    var revision: Int
    static let shape: [String: StrictJSON.Shape] = ["revision": .value]
}

struct AddressesRequest: Decodable {
    var addresses: [String]
    static let shape: [String: StrictJSON.Shape] = ["addresses": .array(.value)]
}
