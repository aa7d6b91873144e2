import Events
import Foundation

/// One row of the `services` read model, as text ready for binding (JSON columns as canonical JSON text).
struct ServiceRow: Hashable {
    var name: String
    var businessLine: String
    var image: String
    var replicas: Int
    var revision: Int
    var status: String
    var env: String
    /// JSON object of the secret variables' names to the id of the key that sealed them; values are never here.
    var secretEnv: String
    var ports: String
    /// "null" when absent.
    var healthCheck: String
    /// "" when absent.
    var domain: String
    /// JSON array of "host:port".
    var addresses: String
    var createdAt: String
    var createdBy: String
    var updatedAt: String
    var updatedBy: String
    var position: String
}

struct RevisionRow: Hashable {
    var service: String
    var revision: Int
    var cause: String
    var image: String
    var template: String
    /// 0 when not a rollback.
    var rolledBackTo: Int
    var actor: String
    var time: String
    var position: String
}

/// Turns a batch of service events into row changes. Pure and independent of where batches are cut, so the live
/// projector and `projections rebuild` produce identical tables.
struct ServiceRowChanges {
    var services: [String: ServiceRow]
    var touched: Set<String> = []
    var revisions: [RevisionRow] = []

    init(existing: [String: ServiceRow]) { services = existing }

    mutating func apply(_ envelope: EventEnvelope, position: LogPosition) throws {
        guard let (kind, name) = AggregateKey.split(envelope.aggregate), kind == ServiceAggregate.kind else { return }
        let pos = position.description
        func template(_ t: PodTemplate, into row: inout ServiceRow) throws {
            row.image = t.image
            row.env = try CanonicalJSON.encode(t.env)
            row.secretEnv = try CanonicalJSON.encode(t.secretEnv.mapValues { SealedSecret($0)?.keyId ?? "" })
            row.ports = try CanonicalJSON.encode(t.ports)
            row.healthCheck = try t.healthCheck.map { try CanonicalJSON.encode($0) } ?? "null"
        }
        func revision(_ number: Int, cause: String, _ t: PodTemplate, rolledBackTo: Int = 0) throws {
            revisions.append(RevisionRow(service: name, revision: number, cause: cause, image: t.image,
                                         template: try CanonicalJSON.encode(t.masked), rolledBackTo: rolledBackTo,
                                         actor: envelope.actor, time: envelope.time, position: pos))
        }
        // Rows are changed in place in the dictionary: copying a row out and back costs more than the change.
        func update(_ body: (inout ServiceRow) throws -> Void) rethrows {
            guard let i = services.index(forKey: name) else { return }
            try body(&services.values[i])
            services.values[i].updatedAt = envelope.time
            services.values[i].updatedBy = envelope.actor
            services.values[i].position = pos
            touched.insert(name)
        }
        switch envelope.event.payload {
        case let e as ServiceScaled:
            update { $0.replicas = e.replicas }
        case let e as ServiceCreated:
            var created = ServiceRow(name: name, businessLine: e.businessLine, image: "", replicas: e.replicas, revision: e.revision,
                                     status: "active", env: "{}", secretEnv: "{}", ports: "[]", healthCheck: "null", domain: e.domain ?? "", addresses: "[]",
                                     createdAt: envelope.time, createdBy: envelope.actor, updatedAt: envelope.time,
                                     updatedBy: envelope.actor, position: pos)
            try template(e.template, into: &created)
            services[name] = created
            touched.insert(name)
            try revision(e.revision, cause: "created", e.template)
        case let e as ServiceConfigUpdated:
            guard let current = services[name]?.revision else { return }
            if e.revision != current { try revision(e.revision, cause: "config-updated", e.template) }
            try update { r in
                try template(e.template, into: &r)
                r.revision = e.revision
                r.domain = e.domain ?? ""
            }
        case let e as ServiceImageUpgraded:
            guard services[name] != nil else { return }
            try update { r in
                try template(e.template, into: &r)
                r.revision = e.revision
            }
            try revision(e.revision, cause: "image-upgraded", e.template)
        case let e as ServiceRolledBack:
            guard services[name] != nil else { return }
            try update { r in
                try template(e.template, into: &r)
                r.revision = e.revision
            }
            try revision(e.revision, cause: "rolled-back", e.template, rolledBackTo: e.toRevision)
        case is ServiceDestroyed:
            update { $0.status = "destroyed" }
        case let e as ServiceAddressesSet:
            let addresses = try CanonicalJSON.encode(e.addresses)
            update { $0.addresses = addresses }
        default:
            return
        }
    }

}

extension PodTemplate {
    /// What read models keep of a template: secret values replaced by `masked`, so no read model holds even the
    /// ciphertext.
    public var masked: PodTemplate {
        var t = self
        t.secretEnv = t.secretEnv.mapValues { _ in Self.mask }
        return t
    }

    public static let mask = "********"
}
