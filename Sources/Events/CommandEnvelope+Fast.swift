/// Decoding of stored command envelopes through `JSONScanner`, several times faster than Codable; used by the
/// command processor on every command. It mirrors the Codable definitions (required fields, defaults); anything it
/// does not recognise falls back to Codable, which then decides or reports the error (tests compare both).
extension CommandEnvelope {
    public static func decodeStored(_ text: String) throws -> CommandEnvelope {
        if let fast = try? fastDecode(text) { return fast }
        return try CanonicalJSON.decode(CommandEnvelope.self, from: text)
    }

    static func fastDecode(_ text: String) throws -> CommandEnvelope {
        let root = Fields(try JSONScanner.parse(text))
        guard try root.int("schemaVersion") == 1 else { throw Fields.Mismatch() }
        let p = try root.object("payload")
        let command: Command
        switch try root.string("type") {
        case "CreateService":
            guard let env = try p.optionalStringMap("env"), let ports = try p.optionalPorts("ports") else { throw Fields.Mismatch() }
            command = .createService(CreateService(name: try p.string("name"), businessLine: try p.string("businessLine"),
                                                   image: try p.string("image"), replicas: try p.int("replicas"), env: env, ports: ports,
                                                   healthCheck: try p.optionalHealthCheck("healthCheck"), domain: try p.optionalString("domain")))
        case "UpdateServiceConfig":
            command = .updateServiceConfig(UpdateServiceConfig(name: try p.string("name"), env: try p.optionalStringMap("env"),
                                                               ports: try p.optionalPorts("ports"), healthCheck: try p.optionalHealthCheck("healthCheck"),
                                                               domain: try p.optionalString("domain"), clearHealthCheck: try p.optionalBool("clearHealthCheck"),
                                                               clearDomain: try p.optionalBool("clearDomain")))
        case "UpgradeServiceImage":
            command = .upgradeServiceImage(UpgradeServiceImage(name: try p.string("name"), image: try p.string("image")))
        case "ScaleService":
            command = .scaleService(ScaleService(name: try p.string("name"), replicas: try p.int("replicas")))
        case "RollbackService":
            command = .rollbackService(RollbackService(name: try p.string("name"), revision: try p.int("revision")))
        case "DestroyService":
            command = .destroyService(DestroyService(name: try p.string("name")))
        default:
            throw Fields.Mismatch()
        }
        var envelope = CommandEnvelope(id: try root.string("id"), actor: try root.string("actor"), time: try root.string("time"),
                                       correlationId: try root.string("correlationId"), causationId: try root.optionalString("causationId"),
                                       command: command)
        // The stored aggregate is what the processor checks against the command's own; keep it as written.
        envelope.aggregate = try root.string("aggregate")
        return envelope
    }
}
