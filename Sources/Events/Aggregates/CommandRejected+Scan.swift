extension CommandRejected: ScannedEvent {
    static func scan(_ payload: Fields) throws -> CommandRejected {
        guard let code = RejectionCode(rawValue: try payload.string("code")) else { throw Fields.Mismatch() }
        return CommandRejected(commandType: try payload.string("commandType"), code: code, reason: try payload.string("reason"))
    }
}

extension CommandRejected: CanonicalPayload {
    var canonicalPayload: JSONValue {
        canonicalObject([("commandType", .string(commandType)), ("code", .string(code.rawValue)), ("reason", .string(reason))])
    }
}
