/// One command type on the wire: the envelope's `type` and `schemaVersion`, the payload as JSON.
/// A published (type, version) never changes shape (schemas/commands/); a new shape is a new version.
/// `olderVersions` decode into the same type (the newer shape only added optional fields).
public protocol CommandPayload: Codable, Hashable, Sendable {
    static var type: String { get }
    static var schemaVersion: Int { get }
    static var olderVersions: Set<Int> { get }
    /// The aggregate the command addresses ("<kind>/<id>"); it is also the log key.
    var aggregate: String { get }
}

extension CommandPayload {
    public static var schemaVersion: Int { 1 }
    public static var olderVersions: Set<Int> { [] }
}

/// One event type on the wire. `olderVersions` decode into the same type unchanged (an upcast of a shape that
/// did not change, such as CommandRejected v1).
public protocol EventPayload: Codable, Hashable, Sendable {
    static var type: String { get }
    static var schemaVersion: Int { get }
    static var olderVersions: Set<Int> { get }
    /// Events a worker acts on outside Wharf only once a checkpoint vouches for them (see SignedCoverage): the
    /// processor signs a batch holding one right after it commits instead of within its interval.
    static var signedPromptly: Bool { get }
}

extension EventPayload {
    public static var schemaVersion: Int { 1 }
    public static var olderVersions: Set<Int> { [] }
    public static var signedPromptly: Bool { false }
}

/// A command of any registered kind. Deciders take their own payload types out with `as`.
public struct Command: Hashable, Sendable {
    public let payload: any CommandPayload

    public init(_ payload: some CommandPayload) { self.payload = payload }

    public var type: String { Swift.type(of: payload).type }
    public var schemaVersion: Int { Swift.type(of: payload).schemaVersion }
    public var aggregate: String { payload.aggregate }

    public func `as`<P: CommandPayload>(_ type: P.Type) -> P? { payload as? P }

    public static func == (a: Command, b: Command) -> Bool { AnyHashable(a.payload) == AnyHashable(b.payload) }
    public func hash(into hasher: inout Hasher) { AnyHashable(payload).hash(into: &hasher) }
}

/// An event of any registered kind.
public struct Event: Hashable, Sendable {
    public let payload: any EventPayload

    public init(_ payload: some EventPayload) { self.payload = payload }

    public var type: String { Swift.type(of: payload).type }
    public var schemaVersion: Int { Swift.type(of: payload).schemaVersion }
    public var signedPromptly: Bool { Swift.type(of: payload).signedPromptly }

    public func `as`<P: EventPayload>(_ type: P.Type) -> P? { payload as? P }

    public static func == (a: Event, b: Event) -> Bool { AnyHashable(a.payload) == AnyHashable(b.payload) }
    public func hash(into hasher: inout Hasher) { AnyHashable(payload).hash(into: &hasher) }
}

extension Command {
    func encodePayload<K: CodingKey>(into container: inout KeyedEncodingContainer<K>, forKey key: K) throws {
        try container.encode(payload, forKey: key)
    }

    static func decodePayload<K: CodingKey>(type: String, version: Int, from container: KeyedDecodingContainer<K>,
                                            forKey key: K) throws -> Command {
        guard let payloadType = Aggregates.commandType(type) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "unknown command type \(type)")
        }
        guard version == payloadType.schemaVersion || payloadType.olderVersions.contains(version) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "unknown schemaVersion \(version) for \(type)")
        }
        func decode<P: CommandPayload>(_ p: P.Type) throws -> Command { Command(try container.decode(p, forKey: key)) }
        return try decode(payloadType)
    }
}

extension Event {
    func encodePayload<K: CodingKey>(into container: inout KeyedEncodingContainer<K>, forKey key: K) throws {
        try container.encode(payload, forKey: key)
    }

    /// Whether records of `type` at `version` decode (the current version, and older ones with an upcast).
    static func decodes(type: String, version: Int) -> Bool {
        guard let payloadType = Aggregates.eventType(type) else { return false }
        return version == payloadType.schemaVersion || payloadType.olderVersions.contains(version)
    }

    static func decodePayload<K: CodingKey>(type: String, version: Int, from container: KeyedDecodingContainer<K>,
                                            forKey key: K) throws -> Event {
        guard let payloadType = Aggregates.eventType(type) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "unknown event type \(type)")
        }
        guard version == payloadType.schemaVersion || payloadType.olderVersions.contains(version) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "unknown schemaVersion \(version) for \(type)")
        }
        func decode<P: EventPayload>(_ p: P.Type) throws -> Event { Event(try container.decode(p, forKey: key)) }
        return try decode(payloadType)
    }
}
