/// Scanner decoding of the service events (replays); see EventEnvelope+Fast.

extension ServiceCreated: ScannedEvent {
    static func scan(_ payload: Fields) throws -> ServiceCreated {
        return ServiceCreated(name: try payload.string("name"), businessLine: try payload.string("businessLine"),
            replicas: try payload.int("replicas"), domain: try payload.optionalString("domain"),
            revision: try payload.int("revision"), template: try payload.template("template"))
    }
}

extension ServiceConfigUpdated: ScannedEvent {
    static func scan(_ payload: Fields) throws -> ServiceConfigUpdated {
        return ServiceConfigUpdated(name: try payload.string("name"), revision: try payload.int("revision"),
            template: try payload.template("template"), domain: try payload.optionalString("domain"))
    }
}

extension ServiceImageUpgraded: ScannedEvent {
    static func scan(_ payload: Fields) throws -> ServiceImageUpgraded {
        return ServiceImageUpgraded(name: try payload.string("name"), previousImage: try payload.string("previousImage"),
            revision: try payload.int("revision"), template: try payload.template("template"))
    }
}

extension ServiceScaled: ScannedEvent {
    static func scan(_ payload: Fields) throws -> ServiceScaled {
        return ServiceScaled(name: try payload.string("name"), previousReplicas: try payload.int("previousReplicas"),
            replicas: try payload.int("replicas"))
    }
}

extension ServiceRolledBack: ScannedEvent {
    static func scan(_ payload: Fields) throws -> ServiceRolledBack {
        return ServiceRolledBack(name: try payload.string("name"), toRevision: try payload.int("toRevision"),
            revision: try payload.int("revision"), template: try payload.template("template"))
    }
}

extension ServiceDestroyed: ScannedEvent {
    static func scan(_ payload: Fields) throws -> ServiceDestroyed {
        return ServiceDestroyed(name: try payload.string("name"))
    }
}
