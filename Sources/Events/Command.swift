/// Every command type Wharf accepts. The `type` string and `schemaVersion` are written into the envelope;
/// a published (type, version) pair never changes shape (see schemas/commands/).
public enum Command: Hashable, Sendable {
    case createService(CreateService)
    case updateServiceConfig(UpdateServiceConfig)
    case upgradeServiceImage(UpgradeServiceImage)
    case scaleService(ScaleService)
    case rollbackService(RollbackService)
    case destroyService(DestroyService)

    public static let allTypes = ["CreateService", "UpdateServiceConfig", "UpgradeServiceImage",
                                  "ScaleService", "RollbackService", "DestroyService"]

    public var type: String {
        switch self {
        case .createService: "CreateService"
        case .updateServiceConfig: "UpdateServiceConfig"
        case .upgradeServiceImage: "UpgradeServiceImage"
        case .scaleService: "ScaleService"
        case .rollbackService: "RollbackService"
        case .destroyService: "DestroyService"
        }
    }

    public var schemaVersion: Int { 1 }

    /// The aggregate the command addresses; it is also the log key.
    public var aggregate: String {
        switch self {
        case .createService(let c): AggregateKey.service(c.name)
        case .updateServiceConfig(let c): AggregateKey.service(c.name)
        case .upgradeServiceImage(let c): AggregateKey.service(c.name)
        case .scaleService(let c): AggregateKey.service(c.name)
        case .rollbackService(let c): AggregateKey.service(c.name)
        case .destroyService(let c): AggregateKey.service(c.name)
        }
    }

    func encodePayload<K: CodingKey>(into container: inout KeyedEncodingContainer<K>, forKey key: K) throws {
        switch self {
        case .createService(let p): try container.encode(p, forKey: key)
        case .updateServiceConfig(let p): try container.encode(p, forKey: key)
        case .upgradeServiceImage(let p): try container.encode(p, forKey: key)
        case .scaleService(let p): try container.encode(p, forKey: key)
        case .rollbackService(let p): try container.encode(p, forKey: key)
        case .destroyService(let p): try container.encode(p, forKey: key)
        }
    }

    static func decodePayload<K: CodingKey>(type: String, version: Int, from container: KeyedDecodingContainer<K>,
                                            forKey key: K) throws -> Command {
        guard version == 1 else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                   debugDescription: "unknown schemaVersion \(version) for \(type)")
        }
        switch type {
        case "CreateService": return .createService(try container.decode(CreateService.self, forKey: key))
        case "UpdateServiceConfig": return .updateServiceConfig(try container.decode(UpdateServiceConfig.self, forKey: key))
        case "UpgradeServiceImage": return .upgradeServiceImage(try container.decode(UpgradeServiceImage.self, forKey: key))
        case "ScaleService": return .scaleService(try container.decode(ScaleService.self, forKey: key))
        case "RollbackService": return .rollbackService(try container.decode(RollbackService.self, forKey: key))
        case "DestroyService": return .destroyService(try container.decode(DestroyService.self, forKey: key))
        default:
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "unknown command type \(type)")
        }
    }
}
