/// Hand-written canonical JSON of the service events (the processor's hot path); see EventEnvelope+Canonical.

extension ServiceCreated: CanonicalPayload {
    var canonicalPayload: JSONValue {
        canonicalObject([("name", .string(name)), ("businessLine", .string(businessLine)), ("replicas", .integer(Int64(replicas))),
            ("domain", domain.map { .string($0) }), ("revision", .integer(Int64(revision))), ("template", template.json)])
    }
}

extension ServiceConfigUpdated: CanonicalPayload {
    var canonicalPayload: JSONValue {
        canonicalObject([("name", .string(name)), ("revision", .integer(Int64(revision))), ("template", template.json),
            ("domain", domain.map { .string($0) })])
    }
}

extension ServiceImageUpgraded: CanonicalPayload {
    var canonicalPayload: JSONValue {
        canonicalObject([("name", .string(name)), ("previousImage", .string(previousImage)), ("revision", .integer(Int64(revision))),
            ("template", template.json)])
    }
}

extension ServiceScaled: CanonicalPayload {
    var canonicalPayload: JSONValue {
        canonicalObject([("name", .string(name)), ("previousReplicas", .integer(Int64(previousReplicas))),
            ("replicas", .integer(Int64(replicas)))])
    }
}

extension ServiceRolledBack: CanonicalPayload {
    var canonicalPayload: JSONValue {
        canonicalObject([("name", .string(name)), ("toRevision", .integer(Int64(toRevision))), ("revision", .integer(Int64(revision))),
            ("template", template.json)])
    }
}

extension ServiceDestroyed: CanonicalPayload {
    var canonicalPayload: JSONValue {
        canonicalObject([("name", .string(name))])
    }
}
