/// Canonical JSON of an event envelope without Codable (Foundation's JSONEncoder was the largest cost of the
/// command processor). Mirrors the Codable encoding exactly: nil optionals are left out, keys sorted; tests
/// compare the bytes with `CanonicalJSON.encode` on every event type.
extension EventEnvelope {
    public func canonicalJSON() -> String {
        // Low-volume event types (Nginx, addresses) have no hand-written form; Codable writes the same bytes.
        guard let payload = event.payloadJSON else {
            do { return try CanonicalJSON.encode(self) } catch { preconditionFailure("an event could not be encoded: \(error)") }
        }
        return CanonicalWriter.write(.object([
            ("id", .string(id)), ("type", .string(event.type)), ("schemaVersion", .integer(Int64(event.schemaVersion))),
            ("aggregate", .string(aggregate)), ("actor", .string(actor)), ("time", .string(time)),
            ("correlationId", .string(correlationId)), ("causationId", .string(causationId)), ("commandType", .string(commandType)),
            ("commandPosition", .object([("partition", .integer(Int64(commandPosition.partition))), ("offset", .integer(commandPosition.offset))])),
            ("payload", payload),
        ]))
    }
}

extension Event {
    /// nil for types written through Codable.
    var payloadJSON: JSONValue? {
        func object(_ members: [(String, JSONValue?)]) -> JSONValue {
            .object(members.compactMap { key, value in value.map { (key: key, value: $0) } })
        }
        switch self {
        case .serviceCreated(let e):
            return object([("name", .string(e.name)), ("businessLine", .string(e.businessLine)), ("replicas", .integer(Int64(e.replicas))),
                           ("domain", e.domain.map { .string($0) }), ("revision", .integer(Int64(e.revision))), ("template", e.template.json)])
        case .serviceConfigUpdated(let e):
            return object([("name", .string(e.name)), ("revision", .integer(Int64(e.revision))), ("template", e.template.json),
                           ("domain", e.domain.map { .string($0) })])
        case .serviceImageUpgraded(let e):
            return object([("name", .string(e.name)), ("previousImage", .string(e.previousImage)), ("revision", .integer(Int64(e.revision))),
                           ("template", e.template.json)])
        case .serviceScaled(let e):
            return object([("name", .string(e.name)), ("previousReplicas", .integer(Int64(e.previousReplicas))),
                           ("replicas", .integer(Int64(e.replicas)))])
        case .serviceRolledBack(let e):
            return object([("name", .string(e.name)), ("toRevision", .integer(Int64(e.toRevision))), ("revision", .integer(Int64(e.revision))),
                           ("template", e.template.json)])
        case .serviceDestroyed(let e):
            return object([("name", .string(e.name))])
        case .commandRejected(let e):
            return object([("commandType", .string(e.commandType)), ("code", .string(e.code.rawValue)), ("reason", .string(e.reason))])
        default:
            return nil
        }
    }
}

extension PodTemplate {
    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("image", .string(image)),
            ("env", .object(env.map { (key: $0.key, value: JSONValue.string($0.value)) })),
            ("ports", .array(ports.map { port in
                var p: [(key: String, value: JSONValue)] = [("containerPort", .integer(Int64(port.containerPort))), ("protocol", .string(port.protocol))]
                if let name = port.name { p.append(("name", .string(name))) }
                return .object(p)
            })),
        ]
        if let h = healthCheck {
            members.append(("healthCheck", .object([("path", .string(h.path)), ("port", .integer(Int64(h.port))),
                                                    ("initialDelaySeconds", .integer(Int64(h.initialDelaySeconds))),
                                                    ("periodSeconds", .integer(Int64(h.periodSeconds)))])))
        }
        return .object(members)
    }
}
