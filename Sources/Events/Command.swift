/// Every command type Wharf accepts. The `type` string and `schemaVersion` are written into the envelope;
/// a published (type, version) pair never changes shape (see schemas/commands/).
public enum Command: Hashable, Sendable {
    case createService(CreateService)
    case updateServiceConfig(UpdateServiceConfig)
    case upgradeServiceImage(UpgradeServiceImage)
    case scaleService(ScaleService)
    case rollbackService(RollbackService)
    case destroyService(DestroyService)
    case setServiceAddresses(SetServiceAddresses)
    case createNginxCluster(CreateNginxCluster)
    case addNginxNode(AddNginxNode)
    case removeNginxNode(RemoveNginxNode)
    case putNginxUpstream(PutNginxUpstream)
    case deleteNginxUpstream(DeleteNginxUpstream)
    case putNginxSite(PutNginxSite)
    case deleteNginxSite(DeleteNginxSite)
    case rollbackNginxConfig(RollbackNginxConfig)
    case syncNginxServiceMembers(SyncNginxServiceMembers)
    case recordNginxValidation(RecordNginxValidation)
    case recordNginxNodeReport(RecordNginxNodeReport)

    public static let allTypes = [
        "CreateService", "UpdateServiceConfig", "UpgradeServiceImage", "ScaleService",
        "RollbackService", "DestroyService", "SetServiceAddresses", "CreateNginxCluster",
        "AddNginxNode", "RemoveNginxNode", "PutNginxUpstream", "DeleteNginxUpstream",
        "PutNginxSite", "DeleteNginxSite", "RollbackNginxConfig", "SyncNginxServiceMembers",
        "RecordNginxValidation", "RecordNginxNodeReport",
    ]

    public var type: String {
        switch self {
        case .createService: "CreateService"
        case .updateServiceConfig: "UpdateServiceConfig"
        case .upgradeServiceImage: "UpgradeServiceImage"
        case .scaleService: "ScaleService"
        case .rollbackService: "RollbackService"
        case .destroyService: "DestroyService"
        case .setServiceAddresses: "SetServiceAddresses"
        case .createNginxCluster: "CreateNginxCluster"
        case .addNginxNode: "AddNginxNode"
        case .removeNginxNode: "RemoveNginxNode"
        case .putNginxUpstream: "PutNginxUpstream"
        case .deleteNginxUpstream: "DeleteNginxUpstream"
        case .putNginxSite: "PutNginxSite"
        case .deleteNginxSite: "DeleteNginxSite"
        case .rollbackNginxConfig: "RollbackNginxConfig"
        case .syncNginxServiceMembers: "SyncNginxServiceMembers"
        case .recordNginxValidation: "RecordNginxValidation"
        case .recordNginxNodeReport: "RecordNginxNodeReport"
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
        case .setServiceAddresses(let c): AggregateKey.service(c.name)
        case .createNginxCluster(let c): AggregateKey.nginxCluster(c.name)
        case .addNginxNode(let c): AggregateKey.nginxCluster(c.cluster)
        case .removeNginxNode(let c): AggregateKey.nginxCluster(c.cluster)
        case .putNginxUpstream(let c): AggregateKey.nginxCluster(c.cluster)
        case .deleteNginxUpstream(let c): AggregateKey.nginxCluster(c.cluster)
        case .putNginxSite(let c): AggregateKey.nginxCluster(c.cluster)
        case .deleteNginxSite(let c): AggregateKey.nginxCluster(c.cluster)
        case .rollbackNginxConfig(let c): AggregateKey.nginxCluster(c.cluster)
        case .syncNginxServiceMembers(let c): AggregateKey.nginxCluster(c.cluster)
        case .recordNginxValidation(let c): AggregateKey.nginxCluster(c.cluster)
        case .recordNginxNodeReport(let c): AggregateKey.nginxCluster(c.cluster)
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
        case .setServiceAddresses(let p): try container.encode(p, forKey: key)
        case .createNginxCluster(let p): try container.encode(p, forKey: key)
        case .addNginxNode(let p): try container.encode(p, forKey: key)
        case .removeNginxNode(let p): try container.encode(p, forKey: key)
        case .putNginxUpstream(let p): try container.encode(p, forKey: key)
        case .deleteNginxUpstream(let p): try container.encode(p, forKey: key)
        case .putNginxSite(let p): try container.encode(p, forKey: key)
        case .deleteNginxSite(let p): try container.encode(p, forKey: key)
        case .rollbackNginxConfig(let p): try container.encode(p, forKey: key)
        case .syncNginxServiceMembers(let p): try container.encode(p, forKey: key)
        case .recordNginxValidation(let p): try container.encode(p, forKey: key)
        case .recordNginxNodeReport(let p): try container.encode(p, forKey: key)
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
        case "SetServiceAddresses": return .setServiceAddresses(try container.decode(SetServiceAddresses.self, forKey: key))
        case "CreateNginxCluster": return .createNginxCluster(try container.decode(CreateNginxCluster.self, forKey: key))
        case "AddNginxNode": return .addNginxNode(try container.decode(AddNginxNode.self, forKey: key))
        case "RemoveNginxNode": return .removeNginxNode(try container.decode(RemoveNginxNode.self, forKey: key))
        case "PutNginxUpstream": return .putNginxUpstream(try container.decode(PutNginxUpstream.self, forKey: key))
        case "DeleteNginxUpstream": return .deleteNginxUpstream(try container.decode(DeleteNginxUpstream.self, forKey: key))
        case "PutNginxSite": return .putNginxSite(try container.decode(PutNginxSite.self, forKey: key))
        case "DeleteNginxSite": return .deleteNginxSite(try container.decode(DeleteNginxSite.self, forKey: key))
        case "RollbackNginxConfig": return .rollbackNginxConfig(try container.decode(RollbackNginxConfig.self, forKey: key))
        case "SyncNginxServiceMembers": return .syncNginxServiceMembers(try container.decode(SyncNginxServiceMembers.self, forKey: key))
        case "RecordNginxValidation": return .recordNginxValidation(try container.decode(RecordNginxValidation.self, forKey: key))
        case "RecordNginxNodeReport": return .recordNginxNodeReport(try container.decode(RecordNginxNodeReport.self, forKey: key))
        default:
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "unknown command type \(type)")
        }
    }
}
