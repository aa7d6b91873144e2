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

struct AuditRow: Hashable {
    var commandId: String
    var aggregate: String
    var actor: String
    var commandType: String
    var outcome: String
    var code: String
    var reason: String
    var time: String
    var partition: Int
    var offset: Int64
    var position: String
    var commandPosition: String
    /// How many events the command produced; they sit contiguously in the log, ending at `offset`.
    var eventCount: Int
}

/// Turns a batch of events into row changes. Pure and independent of where batches are cut, so the live
/// projector and `projections rebuild` produce identical tables.
struct ServiceRowChanges {
    var services: [String: ServiceRow]
    var touched: Set<String> = []
    var revisions: [RevisionRow] = []
    var audit: [AuditRow] = []
    private var auditIndex: [String: Int] = [:]

    init(existing: [String: ServiceRow]) { services = existing }

    mutating func apply(_ envelope: EventEnvelope, value: String, position: LogPosition) throws {
        recordAudit(envelope, value: value, position: position)
        guard let (kind, name) = AggregateKey.split(envelope.aggregate), kind == "service" else { return }
        let pos = position.description
        func template(_ t: PodTemplate, into row: inout ServiceRow) throws {
            row.image = t.image
            row.env = try CanonicalJSON.encode(t.env)
            row.ports = try CanonicalJSON.encode(t.ports)
            row.healthCheck = try t.healthCheck.map { try CanonicalJSON.encode($0) } ?? "null"
        }
        func revision(_ number: Int, cause: String, _ t: PodTemplate, rolledBackTo: Int = 0) throws {
            revisions.append(RevisionRow(service: name, revision: number, cause: cause, image: t.image,
                                         template: try CanonicalJSON.encode(t), rolledBackTo: rolledBackTo,
                                         actor: envelope.actor, time: envelope.time, position: pos))
        }
        var row = services[name]
        switch envelope.event {
        case .serviceCreated(let e):
            var created = ServiceRow(name: name, businessLine: e.businessLine, image: "", replicas: e.replicas, revision: e.revision,
                                     status: "active", env: "{}", ports: "[]", healthCheck: "null", domain: e.domain ?? "", addresses: "[]",
                                     createdAt: envelope.time, createdBy: envelope.actor, updatedAt: envelope.time,
                                     updatedBy: envelope.actor, position: pos)
            try template(e.template, into: &created)
            row = created
            try revision(e.revision, cause: "created", e.template)
        case .serviceConfigUpdated(let e):
            guard var r = row else { return }
            if e.revision != r.revision { try revision(e.revision, cause: "config-updated", e.template) }
            try template(e.template, into: &r)
            r.revision = e.revision
            r.domain = e.domain ?? ""
            row = r
        case .serviceImageUpgraded(let e):
            guard var r = row else { return }
            try template(e.template, into: &r)
            r.revision = e.revision
            row = r
            try revision(e.revision, cause: "image-upgraded", e.template)
        case .serviceScaled(let e):
            row?.replicas = e.replicas
        case .serviceRolledBack(let e):
            guard var r = row else { return }
            try template(e.template, into: &r)
            r.revision = e.revision
            row = r
            try revision(e.revision, cause: "rolled-back", e.template, rolledBackTo: e.toRevision)
        case .serviceDestroyed:
            row?.status = "destroyed"
        case .serviceAddressesSet(let e):
            row?.addresses = try CanonicalJSON.encode(e.addresses)
        default:
            return
        }
        guard var changed = row else { return }
        changed.updatedAt = envelope.time
        changed.updatedBy = envelope.actor
        changed.position = pos
        touched.insert(name)
        services[name] = changed
    }

    /// One audit row per command; a command with several events collects them all.
    private mutating func recordAudit(_ e: EventEnvelope, value: String, position: LogPosition) {
        if let i = auditIndex[e.commandId] {
            audit[i].eventCount += 1
            audit[i].offset = position.offset
            audit[i].position = position.description
            return
        }
        var outcome = "accepted", code = "", reason = ""
        if case .commandRejected(let r) = e.event {
            outcome = "rejected"; code = r.code.rawValue; reason = r.reason
        }
        auditIndex[e.commandId] = audit.count
        audit.append(AuditRow(commandId: e.commandId, aggregate: e.aggregate, actor: e.actor, commandType: e.commandType,
                              outcome: outcome, code: code, reason: reason, time: e.time, partition: position.partition,
                              offset: position.offset, position: position.description,
                              commandPosition: e.commandPosition.description, eventCount: 1))
    }
}
