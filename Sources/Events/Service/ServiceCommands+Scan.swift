/// Scanner decoding of the service commands (the processor's hot path); see CommandEnvelope+Fast.

extension CreateService: ScannedCommand {
    static func scan(_ p: Fields) throws -> CreateService {
        guard let env = try p.optionalStringMap("env"), let ports = try p.optionalPorts("ports") else { throw Fields.Mismatch() }
        return CreateService(name: try p.string("name"), businessLine: try p.string("businessLine"),
            image: try p.string("image"), replicas: try p.int("replicas"), env: env, ports: ports,
            healthCheck: try p.optionalHealthCheck("healthCheck"), domain: try p.optionalString("domain"),
            secretEnv: try p.optionalStringMap("secretEnv"))
    }
}

extension UpdateServiceConfig: ScannedCommand {
    static func scan(_ p: Fields) throws -> UpdateServiceConfig {
        return UpdateServiceConfig(name: try p.string("name"), env: try p.optionalStringMap("env"),
            ports: try p.optionalPorts("ports"), healthCheck: try p.optionalHealthCheck("healthCheck"),
            domain: try p.optionalString("domain"), clearHealthCheck: try p.optionalBool("clearHealthCheck"),
            clearDomain: try p.optionalBool("clearDomain"), secretEnv: try p.optionalStringMap("secretEnv"),
            removeSecretEnv: try p.optionalStringArray("removeSecretEnv"))
    }
}

extension UpgradeServiceImage: ScannedCommand {
    static func scan(_ p: Fields) throws -> UpgradeServiceImage {
        return UpgradeServiceImage(name: try p.string("name"), image: try p.string("image"))
    }
}

extension ScaleService: ScannedCommand {
    static func scan(_ p: Fields) throws -> ScaleService {
        return ScaleService(name: try p.string("name"), replicas: try p.int("replicas"))
    }
}

extension RollbackService: ScannedCommand {
    static func scan(_ p: Fields) throws -> RollbackService {
        return RollbackService(name: try p.string("name"), revision: try p.int("revision"))
    }
}

extension DestroyService: ScannedCommand {
    static func scan(_ p: Fields) throws -> DestroyService {
        return DestroyService(name: try p.string("name"))
    }
}
