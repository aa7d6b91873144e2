extension CommandUnchanged: ScannedEvent {
    static func scan(_ payload: Fields) throws -> CommandUnchanged {
        CommandUnchanged(commandType: try payload.string("commandType"), reason: try payload.string("reason"))
    }
}

extension CommandUnchanged: CanonicalPayload {
    var canonicalPayload: JSONValue {
        canonicalObject([("commandType", .string(commandType)), ("reason", .string(reason))])
    }
}
