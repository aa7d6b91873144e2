import EventLog
import Events
import Foundation
import Logging
import PostgresNIO

/// What the portal reads. Rows come back as JSON objects shaped for the API.
public struct ServiceView: Codable, Hashable, Sendable {
    public var name: String
    public var businessLine: String
    public var image: String
    public var replicas: Int
    public var revision: Int
    public var status: String
    public var env: [String: String]
    /// Secret variables, every value shown as `PodTemplate.mask` (owners reveal one through the audited route).
    public var secretEnv: [String: String]
    public var ports: [ServicePort]
    public var healthCheck: HealthCheck?
    public var domain: String?
    public var addresses: [String]
    public var createdAt: String
    public var createdBy: String
    public var updatedAt: String
    public var updatedBy: String
    public var position: String
}

public struct RevisionView: Codable, Hashable, Sendable {
    public var revision: Int
    public var cause: String
    public var image: String
    public var template: PodTemplate
    public var rolledBackTo: Int?
    public var actor: String
    public var time: String
    public var position: String
}

public struct AuditView: Codable, Hashable, Sendable {
    public var commandId: String
    public var aggregate: String
    public var actor: String
    public var commandType: String
    public var outcome: String
    public var code: String?
    public var reason: String?
    public var time: String
    public var position: String
    public var commandPosition: String
}

public struct AuditFilter: Sendable {
    public var aggregate: String?
    public var actor: String?
    public var from: Date?
    public var to: Date?
    public var limit: Int
    /// When set, only rows about services of these business lines, or by `visibleActor`: what a member of those
    /// lines may read. nil: every row (platform roles).
    public var visibleLines: [String]?
    public var visibleActor: String?
    public init(aggregate: String? = nil, actor: String? = nil, from: Date? = nil, to: Date? = nil, limit: Int = 100,
                visibleLines: [String]? = nil, visibleActor: String? = nil) {
        self.aggregate = aggregate; self.actor = actor; self.from = from; self.to = to; self.limit = limit
        self.visibleLines = visibleLines; self.visibleActor = visibleActor
    }
}

/// A command's recorded outcome and where its events are: `eventCount` records ending at `audit.position`.
public struct RecordedOutcome: Sendable {
    public var audit: AuditView
    public var eventCount: Int
}

public struct ReadModelQueries: Sendable {
    let database: Database
    let schema: String
    private var logger: Logger { database.logger }

    public init(database: Database, schema: String = ReadModelSchema.live) {
        self.database = database; self.schema = schema
    }

    private static let serviceColumns = """
        name, business_line, image, replicas, revision, status, env::text, ports::text, health_check::text, domain,
        addresses::text, \(ProjectionWriter.timeText("created_at")), created_by, \(ProjectionWriter.timeText("updated_at")), updated_by, position,
        secret_env::text
        """

    /// `visibleLines`: only services of these lines (what a line member may see); nil for every line.
    public func services(businessLine: String? = nil, visibleLines: [String]? = nil, limit: Int = 1000) async throws -> [ServiceView] {
        try await require("services")
        return try await database.client.withConnection { c in
            let rows = try await c.query("""
                SELECT \(unescaped: Self.serviceColumns) FROM \(unescaped: schema).services
                 WHERE (\(businessLine)::text IS NULL OR business_line = \(businessLine))
                   AND (\(visibleLines)::text[] IS NULL OR business_line = ANY(\(visibleLines)))
                 ORDER BY name LIMIT \(limit)
                """, logger: logger)
            return try await Self.decodeServices(rows)
        }
    }

    public func service(named name: String) async throws -> ServiceView? {
        try await require("services")
        return try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: "SELECT \(Self.serviceColumns) FROM \(schema).services WHERE name = $1",
                                                       binds: binds(name)), logger: logger)
            return try await Self.decodeServices(rows).first
        }
    }

    private static func decodeServices(_ rows: PostgresRowSequence) async throws -> [ServiceView] {
        var out: [ServiceView] = []
        for try await row in rows {
            let c = try row.decode((String, String, String, Int, Int, String, String, String, String?, String?, String, String, String, String, String, String,
                                    String).self)
            out.append(ServiceView(name: c.0, businessLine: c.1, image: c.2, replicas: c.3, revision: c.4, status: c.5,
                                   env: try CanonicalJSON.decode([String: String].self, from: c.6),
                                   secretEnv: try CanonicalJSON.decode([String: String].self, from: c.16).mapValues { _ in PodTemplate.mask },
                                   ports: try CanonicalJSON.decode([ServicePort].self, from: c.7),
                                   healthCheck: try c.8.map { try CanonicalJSON.decode(HealthCheck.self, from: $0) },
                                   domain: c.9, addresses: try CanonicalJSON.decode([String].self, from: c.10), createdAt: c.11, createdBy: c.12,
                                   updatedAt: c.13, updatedBy: c.14, position: c.15))
        }
        return out
    }

    public func revisions(of service: String) async throws -> [RevisionView] {
        try await require("services")
        return try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: """
                SELECT revision, cause, image, template::text, rolled_back_to, \(ProjectionWriter.timeText("time")), actor, position
                  FROM \(schema).service_revisions WHERE service = $1 ORDER BY revision
                """, binds: binds(service)), logger: logger)
            var out: [RevisionView] = []
            for try await row in rows {
                let r = try row.decode((Int, String, String, String, Int?, String, String, String).self)
                out.append(RevisionView(revision: r.0, cause: r.1, image: r.2, template: try CanonicalJSON.decode(PodTemplate.self, from: r.3),
                                        rolledBackTo: r.4, actor: r.6, time: r.5, position: r.7))
            }
            return out
        }
    }

    private static let auditColumns = """
        command_id, aggregate, actor, command_type, outcome, code, reason, \(ProjectionWriter.timeText("time")), position, command_position
        """

    private static func auditView(_ row: PostgresRow) throws -> AuditView {
        let a = try row.decode((String, String, String, String, String, String?, String?, String, String, String).self)
        return AuditView(commandId: a.0, aggregate: a.1, actor: a.2, commandType: a.3, outcome: a.4, code: a.5, reason: a.6,
                         time: a.7, position: a.8, commandPosition: a.9)
    }

    public func audit(_ filter: AuditFilter) async throws -> [AuditView] {
        try await require("audit")
        return try await database.client.withConnection { c in
            let rows = try await c.query("""
                SELECT \(unescaped: Self.auditColumns) FROM \(unescaped: schema).audit
                 WHERE (\(filter.aggregate)::text IS NULL OR aggregate = \(filter.aggregate))
                   AND (\(filter.actor)::text IS NULL OR actor = \(filter.actor))
                   AND (\(filter.from)::timestamptz IS NULL OR time >= \(filter.from))
                   AND (\(filter.to)::timestamptz IS NULL OR time <= \(filter.to))
                   AND (\(filter.visibleLines)::text[] IS NULL OR actor = \(filter.visibleActor)
                        OR aggregate IN (SELECT 'service/' || name FROM \(unescaped: schema).services WHERE business_line = ANY(\(filter.visibleLines))))
                 ORDER BY time, partition, "offset" LIMIT \(filter.limit)
                """, logger: logger)
            var out: [AuditView] = []
            for try await row in rows { out.append(try Self.auditView(row)) }
            return out
        }
    }

    /// The outcome recorded for a command id, if the projector has seen it.
    public func outcome(commandId: String) async throws -> RecordedOutcome? {
        try await require("audit")
        return try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: "SELECT \(Self.auditColumns), event_count FROM \(schema).audit WHERE command_id = $1",
                                                       binds: binds(commandId)), logger: logger)
            for try await row in rows {
                let count = try row.decode((String, String, String, String, String, String?, String?, String, String, String, Int).self).10
                return RecordedOutcome(audit: try Self.auditView(row), eventCount: count)
            }
            return nil
        }
    }

    /// Which of these command ids the audit holds for `partition` (the command processor's memory of decided ids
    /// beyond its window).
    public func decidedCommandIds(_ ids: [String], partition: Int) async throws -> Set<String> {
        try await require("audit")
        return try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: "SELECT command_id FROM \(schema).audit WHERE command_id = ANY($1) AND partition = $2",
                                                       binds: binds(ids, partition)), logger: logger)
            var out = Set<String>()
            for try await id in rows.decode(String.self) { out.insert(id) }
            return out
        }
    }

    /// The projectors' checkpoint per events partition.
    public func progress() async throws -> [Int: Int64] {
        try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: "SELECT partition, next_offset FROM \(schema).offsets"), logger: logger)
            var out: [Int: Int64] = [:]
            for try await (p, next) in rows.decode((Int, Int64).self) { out[p] = next }
            return out
        }
    }
}
