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
        let p = try root.object("payload")
        guard let scanned = Aggregates.scannedCommand(try root.string("type")) else { throw Fields.Mismatch() }
        func scan<S: ScannedCommand>(_ type: S.Type) throws -> Command { Command(try type.scan(p)) }
        let command = try scan(scanned)
        guard try root.int("schemaVersion") == command.schemaVersion else { throw Fields.Mismatch() }
        var envelope = CommandEnvelope(id: try root.string("id"), actor: try root.string("actor"), time: try root.string("time"),
                                       correlationId: try root.string("correlationId"), causationId: try root.optionalString("causationId"),
                                       authorizedLine: try root.optionalString("authorizedLine"), command: command)
        // The stored aggregate is what the processor checks against the command's own; keep it as written.
        envelope.aggregate = try root.string("aggregate")
        envelope.auth = try root.optionalString("auth")
        return envelope
    }
}

/// A command type with a hand-written scanner decoding (high-volume types); others go through Codable.
protocol ScannedCommand: CommandPayload {
    static func scan(_ payload: Fields) throws -> Self
}
