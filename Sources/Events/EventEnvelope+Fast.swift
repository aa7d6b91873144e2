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
        guard let scanned = Aggregates.scannedEvent(type) else { throw Fields.Mismatch() }
        func scan<S: ScannedEvent>(_ type: S.Type) throws -> Event { Event(try type.scan(payload)) }
        let event = try scan(scanned)
        return EventEnvelope(id: try root.string("id"), aggregate: try root.string("aggregate"), actor: try root.string("actor"),
                             time: try root.string("time"), correlationId: try root.string("correlationId"),
                             causationId: try root.string("causationId"), commandType: try root.string("commandType"),
                             commandPosition: LogPosition(partition: try position.int("partition"), offset: Int64(try position.int("offset"))),
                             event: event)
    }
}

/// An event type with a hand-written scanner decoding; others go through Codable.
protocol ScannedEvent: EventPayload {
    static func scan(_ payload: Fields) throws -> Self
}
