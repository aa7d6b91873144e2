/// Every event type Wharf records. As with commands, (type, schemaVersion) pairs are immutable once published;
/// a new shape gets a new version and an upcaster in `decodePayload`.
public enum Event: Hashable, Sendable {
    case serviceCreated(ServiceCreated)
    case serviceConfigUpdated(ServiceConfigUpdated)
    case serviceImageUpgraded(ServiceImageUpgraded)
    case serviceScaled(ServiceScaled)
    case serviceRolledBack(ServiceRolledBack)
    case serviceDestroyed(ServiceDestroyed)
    case commandRejected(CommandRejected)

    public static let allTypes = ["ServiceCreated", "ServiceConfigUpdated", "ServiceImageUpgraded", "ServiceScaled",
                                  "ServiceRolledBack", "ServiceDestroyed", "CommandRejected"]

    public var type: String {
        switch self {
        case .serviceCreated: "ServiceCreated"
        case .serviceConfigUpdated: "ServiceConfigUpdated"
        case .serviceImageUpgraded: "ServiceImageUpgraded"
        case .serviceScaled: "ServiceScaled"
        case .serviceRolledBack: "ServiceRolledBack"
        case .serviceDestroyed: "ServiceDestroyed"
        case .commandRejected: "CommandRejected"
        }
    }

    public var schemaVersion: Int { 1 }

    func encodePayload<K: CodingKey>(into container: inout KeyedEncodingContainer<K>, forKey key: K) throws {
        switch self {
        case .serviceCreated(let p): try container.encode(p, forKey: key)
        case .serviceConfigUpdated(let p): try container.encode(p, forKey: key)
        case .serviceImageUpgraded(let p): try container.encode(p, forKey: key)
        case .serviceScaled(let p): try container.encode(p, forKey: key)
        case .serviceRolledBack(let p): try container.encode(p, forKey: key)
        case .serviceDestroyed(let p): try container.encode(p, forKey: key)
        case .commandRejected(let p): try container.encode(p, forKey: key)
        }
    }

    static func decodePayload<K: CodingKey>(type: String, version: Int, from container: KeyedDecodingContainer<K>,
                                            forKey key: K) throws -> Event {
        guard version == 1 else {
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
        case "CommandRejected": return .commandRejected(try container.decode(CommandRejected.self, forKey: key))
        default:
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "unknown event type \(type)")
        }
    }
}
