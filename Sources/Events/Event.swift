/// Every event type Wharf records. As with commands, (type, schemaVersion) pairs are immutable once published;
/// a new shape gets a new version and an upcaster in `decodePayload`.
public enum Event: Hashable, Sendable {
    case serviceCreated(ServiceCreated)
    case serviceConfigUpdated(ServiceConfigUpdated)
    case serviceImageUpgraded(ServiceImageUpgraded)
    case serviceScaled(ServiceScaled)
    case serviceRolledBack(ServiceRolledBack)
    case serviceDestroyed(ServiceDestroyed)
    case serviceAddressesSet(ServiceAddressesSet)
    case nginxClusterCreated(NginxClusterCreated)
    case nginxNodeAdded(NginxNodeAdded)
    case nginxNodeRemoved(NginxNodeRemoved)
    case nginxUpstreamPut(NginxUpstreamPut)
    case nginxUpstreamDeleted(NginxUpstreamDeleted)
    case nginxSitePut(NginxSitePut)
    case nginxSiteDeleted(NginxSiteDeleted)
    case nginxConfigRolledBack(NginxConfigRolledBack)
    case nginxServiceMembersSynced(NginxServiceMembersSynced)
    case nginxConfigVersionCreated(NginxConfigVersionCreated)
    case nginxConfigValidated(NginxConfigValidated)
    case nginxNodeReported(NginxNodeReported)
    case commandRejected(CommandRejected)

    public static let allTypes = [
        "ServiceCreated", "ServiceConfigUpdated", "ServiceImageUpgraded", "ServiceScaled",
        "ServiceRolledBack", "ServiceDestroyed", "ServiceAddressesSet", "NginxClusterCreated",
        "NginxNodeAdded", "NginxNodeRemoved", "NginxUpstreamPut", "NginxUpstreamDeleted",
        "NginxSitePut", "NginxSiteDeleted", "NginxConfigRolledBack", "NginxServiceMembersSynced",
        "NginxConfigVersionCreated", "NginxConfigValidated", "NginxNodeReported", "CommandRejected",
    ]

    public var type: String {
        switch self {
        case .serviceCreated: "ServiceCreated"
        case .serviceConfigUpdated: "ServiceConfigUpdated"
        case .serviceImageUpgraded: "ServiceImageUpgraded"
        case .serviceScaled: "ServiceScaled"
        case .serviceRolledBack: "ServiceRolledBack"
        case .serviceDestroyed: "ServiceDestroyed"
        case .serviceAddressesSet: "ServiceAddressesSet"
        case .nginxClusterCreated: "NginxClusterCreated"
        case .nginxNodeAdded: "NginxNodeAdded"
        case .nginxNodeRemoved: "NginxNodeRemoved"
        case .nginxUpstreamPut: "NginxUpstreamPut"
        case .nginxUpstreamDeleted: "NginxUpstreamDeleted"
        case .nginxSitePut: "NginxSitePut"
        case .nginxSiteDeleted: "NginxSiteDeleted"
        case .nginxConfigRolledBack: "NginxConfigRolledBack"
        case .nginxServiceMembersSynced: "NginxServiceMembersSynced"
        case .nginxConfigVersionCreated: "NginxConfigVersionCreated"
        case .nginxConfigValidated: "NginxConfigValidated"
        case .nginxNodeReported: "NginxNodeReported"
        case .commandRejected: "CommandRejected"
        }
    }

    /// CommandRejected is at version 2: version 1's schema listed only the service command types. The payload's
    /// shape is the same, so version 1 records decode unchanged.
    public var schemaVersion: Int {
        if case .commandRejected = self { return 2 }
        return 1
    }

    /// Whether records of `type` at `version` decode (the current version, and older ones with an upcast).
    static func decodes(type: String, version: Int) -> Bool {
        version == 1 || (type == "CommandRejected" && version == 2)
    }

    func encodePayload<K: CodingKey>(into container: inout KeyedEncodingContainer<K>, forKey key: K) throws {
        switch self {
        case .serviceCreated(let p): try container.encode(p, forKey: key)
        case .serviceConfigUpdated(let p): try container.encode(p, forKey: key)
        case .serviceImageUpgraded(let p): try container.encode(p, forKey: key)
        case .serviceScaled(let p): try container.encode(p, forKey: key)
        case .serviceRolledBack(let p): try container.encode(p, forKey: key)
        case .serviceDestroyed(let p): try container.encode(p, forKey: key)
        case .serviceAddressesSet(let p): try container.encode(p, forKey: key)
        case .nginxClusterCreated(let p): try container.encode(p, forKey: key)
        case .nginxNodeAdded(let p): try container.encode(p, forKey: key)
        case .nginxNodeRemoved(let p): try container.encode(p, forKey: key)
        case .nginxUpstreamPut(let p): try container.encode(p, forKey: key)
        case .nginxUpstreamDeleted(let p): try container.encode(p, forKey: key)
        case .nginxSitePut(let p): try container.encode(p, forKey: key)
        case .nginxSiteDeleted(let p): try container.encode(p, forKey: key)
        case .nginxConfigRolledBack(let p): try container.encode(p, forKey: key)
        case .nginxServiceMembersSynced(let p): try container.encode(p, forKey: key)
        case .nginxConfigVersionCreated(let p): try container.encode(p, forKey: key)
        case .nginxConfigValidated(let p): try container.encode(p, forKey: key)
        case .nginxNodeReported(let p): try container.encode(p, forKey: key)
        case .commandRejected(let p): try container.encode(p, forKey: key)
        }
    }

    static func decodePayload<K: CodingKey>(type: String, version: Int, from container: KeyedDecodingContainer<K>,
                                            forKey key: K) throws -> Event {
        guard decodes(type: type, version: version) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                   debugDescription: "unknown schemaVersion \(version) for \(type)")
        }
        switch type {
        case "ServiceCreated": return .serviceCreated(try container.decode(ServiceCreated.self, forKey: key))
        case "ServiceConfigUpdated": return .serviceConfigUpdated(try container.decode(ServiceConfigUpdated.self, forKey: key))
        case "ServiceImageUpgraded": return .serviceImageUpgraded(try container.decode(ServiceImageUpgraded.self, forKey: key))
        case "ServiceScaled": return .serviceScaled(try container.decode(ServiceScaled.self, forKey: key))
        case "ServiceRolledBack": return .serviceRolledBack(try container.decode(ServiceRolledBack.self, forKey: key))
        case "ServiceDestroyed": return .serviceDestroyed(try container.decode(ServiceDestroyed.self, forKey: key))
        case "ServiceAddressesSet": return .serviceAddressesSet(try container.decode(ServiceAddressesSet.self, forKey: key))
        case "NginxClusterCreated": return .nginxClusterCreated(try container.decode(NginxClusterCreated.self, forKey: key))
        case "NginxNodeAdded": return .nginxNodeAdded(try container.decode(NginxNodeAdded.self, forKey: key))
        case "NginxNodeRemoved": return .nginxNodeRemoved(try container.decode(NginxNodeRemoved.self, forKey: key))
        case "NginxUpstreamPut": return .nginxUpstreamPut(try container.decode(NginxUpstreamPut.self, forKey: key))
        case "NginxUpstreamDeleted": return .nginxUpstreamDeleted(try container.decode(NginxUpstreamDeleted.self, forKey: key))
        case "NginxSitePut": return .nginxSitePut(try container.decode(NginxSitePut.self, forKey: key))
        case "NginxSiteDeleted": return .nginxSiteDeleted(try container.decode(NginxSiteDeleted.self, forKey: key))
        case "NginxConfigRolledBack": return .nginxConfigRolledBack(try container.decode(NginxConfigRolledBack.self, forKey: key))
        case "NginxServiceMembersSynced": return .nginxServiceMembersSynced(try container.decode(NginxServiceMembersSynced.self, forKey: key))
        case "NginxConfigVersionCreated": return .nginxConfigVersionCreated(try container.decode(NginxConfigVersionCreated.self, forKey: key))
        case "NginxConfigValidated": return .nginxConfigValidated(try container.decode(NginxConfigValidated.self, forKey: key))
        case "NginxNodeReported": return .nginxNodeReported(try container.decode(NginxNodeReported.self, forKey: key))
        case "CommandRejected": return .commandRejected(try container.decode(CommandRejected.self, forKey: key))
        default:
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "unknown event type \(type)")
        }
    }
}
