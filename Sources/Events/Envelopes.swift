/// The command record as stored in the commands topic.
/// Time, ids and the actor travel here so that deciders stay pure.
public struct CommandEnvelope: Codable, Hashable, Sendable {
    public var id: String
    public var aggregate: String
    public var actor: String
    public var time: String
    public var correlationId: String
    public var causationId: String?
    /// The business line the API authorized the actor in (line-scoped routes, callers other than admins); the
    /// processor re-checks it against the aggregate's state in the log, so a read model that disagrees with the
    /// log cannot widen what a caller may change. Absent when the authorization did not depend on a line.
    public var authorizedLine: String?
    /// `<key id>:<base64 HMAC-SHA256>` over the stored text with this value empty (see `CommandAuthenticator`).
    public var auth: String?
    public var command: Command

    public var type: String { command.type }
    public var schemaVersion: Int { command.schemaVersion }

    public init(id: String, actor: String, time: String, correlationId: String, causationId: String? = nil,
                authorizedLine: String? = nil, command: Command) {
        self.id = id
        self.aggregate = command.aggregate
        self.actor = actor
        self.time = time
        self.correlationId = correlationId
        self.causationId = causationId
        self.authorizedLine = authorizedLine
        self.command = command
    }

    enum CodingKeys: String, CodingKey {
        case id, type, schemaVersion, aggregate, actor, time, correlationId, causationId, authorizedLine, auth, payload
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        aggregate = try c.decode(String.self, forKey: .aggregate)
        actor = try c.decode(String.self, forKey: .actor)
        time = try c.decode(String.self, forKey: .time)
        correlationId = try c.decode(String.self, forKey: .correlationId)
        causationId = try c.decodeIfPresent(String.self, forKey: .causationId)
        authorizedLine = try c.decodeIfPresent(String.self, forKey: .authorizedLine)
        auth = try c.decodeIfPresent(String.self, forKey: .auth)
        let type = try c.decode(String.self, forKey: .type)
        let version = try c.decode(Int.self, forKey: .schemaVersion)
        command = try Command.decodePayload(type: type, version: version, from: c, forKey: .payload)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(command.type, forKey: .type)
        try c.encode(command.schemaVersion, forKey: .schemaVersion)
        try c.encode(aggregate, forKey: .aggregate)
        try c.encode(actor, forKey: .actor)
        try c.encode(time, forKey: .time)
        try c.encode(correlationId, forKey: .correlationId)
        try c.encodeIfPresent(causationId, forKey: .causationId)
        try c.encodeIfPresent(authorizedLine, forKey: .authorizedLine)
        try c.encodeIfPresent(auth, forKey: .auth)
        try command.encodePayload(into: &c, forKey: .payload)
    }
}

/// The event record as stored in the events topic. `commandId`, `commandType` and `commandPosition`
/// tie it to the intent that caused it; the events partition is therefore the processor's checkpoint.
public struct EventEnvelope: Codable, Hashable, Sendable {
    public var id: String
    public var aggregate: String
    public var actor: String
    public var time: String
    public var correlationId: String
    /// The command id that caused this event.
    public var causationId: String
    public var commandType: String
    /// Where the causing command sits in the commands topic.
    public var commandPosition: LogPosition
    public var event: Event

    public var commandId: String { causationId }
    public var type: String { event.type }
    public var schemaVersion: Int { event.schemaVersion }

    public init(id: String, aggregate: String, actor: String, time: String, correlationId: String, causationId: String,
                commandType: String, commandPosition: LogPosition, event: Event) {
        self.id = id
        self.aggregate = aggregate
        self.actor = actor
        self.time = time
        self.correlationId = correlationId
        self.causationId = causationId
        self.commandType = commandType
        self.commandPosition = commandPosition
        self.event = event
    }

    enum CodingKeys: String, CodingKey {
        case id, type, schemaVersion, aggregate, actor, time, correlationId, causationId, commandType, commandPosition, payload
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        aggregate = try c.decode(String.self, forKey: .aggregate)
        actor = try c.decode(String.self, forKey: .actor)
        time = try c.decode(String.self, forKey: .time)
        correlationId = try c.decode(String.self, forKey: .correlationId)
        causationId = try c.decode(String.self, forKey: .causationId)
        commandType = try c.decode(String.self, forKey: .commandType)
        commandPosition = try c.decode(LogPosition.self, forKey: .commandPosition)
        let type = try c.decode(String.self, forKey: .type)
        let version = try c.decode(Int.self, forKey: .schemaVersion)
        event = try Event.decodePayload(type: type, version: version, from: c, forKey: .payload)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(event.type, forKey: .type)
        try c.encode(event.schemaVersion, forKey: .schemaVersion)
        try c.encode(aggregate, forKey: .aggregate)
        try c.encode(actor, forKey: .actor)
        try c.encode(time, forKey: .time)
        try c.encode(correlationId, forKey: .correlationId)
        try c.encode(causationId, forKey: .causationId)
        try c.encode(commandType, forKey: .commandType)
        try c.encode(commandPosition, forKey: .commandPosition)
        try event.encodePayload(into: &c, forKey: .payload)
    }
}
