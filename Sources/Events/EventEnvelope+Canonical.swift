/// Canonical JSON of an event envelope without Codable (Foundation's JSONEncoder was the largest cost of the
/// command processor). Mirrors the Codable encoding exactly: nil optionals are left out, keys sorted; tests
/// compare the bytes with `CanonicalJSON.encode` on every event type.
extension EventEnvelope {
    public func canonicalJSON() -> String {
        // Low-volume event types (Nginx, addresses) have no hand-written form; Codable writes the same bytes.
        guard let payload = (event.payload as? any CanonicalPayload)?.canonicalPayload else {
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

/// An event type with a hand-written canonical form; others are written through Codable (same bytes).
protocol CanonicalPayload: EventPayload {
    var canonicalPayload: JSONValue { get }
}

/// An object of the members that are present (nil optionals are left out, as Codable does).
func canonicalObject(_ members: [(String, JSONValue?)]) -> JSONValue {
    .object(members.compactMap { key, value in value.map { (key: key, value: $0) } })
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
        if !secretEnv.isEmpty {
            members.append(("secretEnv", .object(secretEnv.map { (key: $0.key, value: JSONValue.string($0.value)) })))
        }
        return .object(members)
    }
}
