/// Decoding of stored event envelopes through `JSONScanner`, several times faster than Codable; used where the
/// log is replayed (processor start, projectors). It mirrors the Codable definitions exactly, defaults included
/// (tests compare both on every event type); anything it does not recognise falls back to Codable, which then
/// reports the error.
extension EventEnvelope {
    public static func decodeStored(_ text: String) throws -> EventEnvelope {
        if let fast = try? fastDecode(text) { return fast }
        return try CanonicalJSON.decode(EventEnvelope.self, from: text)
    }

    static func fastDecode(_ text: String) throws -> EventEnvelope {
        let root = Fields(try JSONScanner.parse(text))
        let position = try root.object("commandPosition")
        let payload = try root.object("payload")
        let type = try root.string("type")
        guard Event.decodes(type: type, version: try root.int("schemaVersion")) else { throw Fields.Mismatch() }
        let event: Event
        switch type {
        case "ServiceCreated":
            event = .serviceCreated(ServiceCreated(name: try payload.string("name"), businessLine: try payload.string("businessLine"),
                                                   replicas: try payload.int("replicas"), domain: try payload.optionalString("domain"),
                                                   revision: try payload.int("revision"), template: try payload.template("template")))
        case "ServiceConfigUpdated":
            event = .serviceConfigUpdated(ServiceConfigUpdated(name: try payload.string("name"), revision: try payload.int("revision"),
                                                               template: try payload.template("template"), domain: try payload.optionalString("domain")))
        case "ServiceImageUpgraded":
            event = .serviceImageUpgraded(ServiceImageUpgraded(name: try payload.string("name"), previousImage: try payload.string("previousImage"),
                                                               revision: try payload.int("revision"), template: try payload.template("template")))
        case "ServiceScaled":
            event = .serviceScaled(ServiceScaled(name: try payload.string("name"), previousReplicas: try payload.int("previousReplicas"),
                                                 replicas: try payload.int("replicas")))
        case "ServiceRolledBack":
            event = .serviceRolledBack(ServiceRolledBack(name: try payload.string("name"), toRevision: try payload.int("toRevision"),
                                                         revision: try payload.int("revision"), template: try payload.template("template")))
        case "ServiceDestroyed":
            event = .serviceDestroyed(ServiceDestroyed(name: try payload.string("name")))
        case "CommandRejected":
            guard let code = RejectionCode(rawValue: try payload.string("code")) else { throw Fields.Mismatch() }
            event = .commandRejected(CommandRejected(commandType: try payload.string("commandType"), code: code, reason: try payload.string("reason")))
        default:
            throw Fields.Mismatch()
        }
        return EventEnvelope(id: try root.string("id"), aggregate: try root.string("aggregate"), actor: try root.string("actor"),
                             time: try root.string("time"), correlationId: try root.string("correlationId"),
                             causationId: try root.string("causationId"), commandType: try root.string("commandType"),
                             commandPosition: LogPosition(partition: try position.int("partition"), offset: Int64(try position.int("offset"))),
                             event: event)
    }
}
