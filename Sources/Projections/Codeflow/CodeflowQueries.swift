import EventLog
import Events
import Foundation
import PostgresNIO

/// A codeflow as the webhook routes need it: its spec and sealed secret.
public struct CodeflowRecord: Sendable, Hashable {
    public var name: String
    public var spec: CodeflowSpec
    public var sealedWebhookSecret: String
}

/// A build's row as workers and routes need it.
public struct BuildRecord: Sendable, Hashable {
    public var id: String
    public var codeflow: String
    public var service: String
    public var state: String
    public var ref: String
    public var commit: String?
    public var runner: String?
    public var spec: CodeflowSpec
    public var trigger: BuildTrigger
    public var correlationId: String
    public var position: String

    public var isOpen: Bool { state == "queued" || state == "running" }
}

extension ReadModelQueries {
    private func codeflowRows<T>(_ sql: String, _ values: any PostgresEncodable..., decode: (PostgresRow) throws -> T) async throws -> [T] {
        try await require("codeflows")
        let bindings = try binds(list: values)
        return try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: database.logger)
            var out: [T] = []
            for try await row in rows { out.append(try decode(row)) }
            return out
        }
    }

    private static func decodeSpec(_ text: String) throws -> CodeflowSpec { try CanonicalJSON.decode(CodeflowSpec.self, from: text) }

    public func codeflow(named name: String) async throws -> CodeflowRecord? {
        try await codeflowRows("SELECT name, spec::text, webhook_secret FROM \(schema).codeflows WHERE name = $1", name) { row in
            let r = try row.decode((String, String, String).self)
            return CodeflowRecord(name: r.0, spec: try Self.decodeSpec(r.1), sealedWebhookSecret: r.2)
        }.first
    }

    /// Codeflows whose repository is any of these addresses (compared as `RepositoryKey`s).
    public func codeflows(repositories: [String]) async throws -> [CodeflowRecord] {
        let keys = Array(Set(repositories.map(RepositoryKey.normalize)))
        return try await codeflowRows("""
            SELECT name, spec::text, webhook_secret FROM \(schema).codeflows WHERE repository_key = ANY($1) ORDER BY name
            """, keys) { row in
            let r = try row.decode((String, String, String).self)
            return CodeflowRecord(name: r.0, spec: try Self.decodeSpec(r.1), sealedWebhookSecret: r.2)
        }
    }

    /// Codeflows as the API shows them (no secret), only those of services in `visibleLines` when given.
    public func codeflowsJSON(only: String? = nil, visibleLines: [String]?) async throws -> String {
        try await codeflowRows("""
            SELECT jsonb_build_object('items', coalesce(jsonb_agg(c.spec || jsonb_build_object(
                     'name', c.name, 'revision', c.revision, 'hasWebhookSecret', c.webhook_secret <> '',
                     'updatedAt', \(ProjectionWriter.timeText("c.updated_at")), 'updatedBy', c.updated_by, 'position', c.position) ORDER BY c.name), '[]'::jsonb))::text
              FROM \(schema).codeflows c LEFT JOIN \(schema).services s ON s.name = c.service
             WHERE ($1 = '' OR c.name = $1) AND ($3 OR s.business_line = ANY($2))
            """, only ?? "", visibleLines ?? [], visibleLines == nil) { try $0.decode(String.self) }.first ?? #"{"items":[]}"#
    }

    static func buildJSON(_ b: String) -> String {
        """
        jsonb_strip_nulls(jsonb_build_object('id', \(b).id, 'codeflow', \(b).codeflow, 'service', \(b).service, 'state', \(b).state,
            'ref', \(b).ref, 'commit', \(b).commit, 'trigger', \(b).trigger, 'retryOf', \(b).retry_of, 'runner', \(b).runner,
            'image', \(b).image, 'digest', \(b).digest, 'cacheHit', \(b).cache_hit, 'phases', \(b).phases, 'reason', \(b).reason,
            'queuedAt', \(ProjectionWriter.timeText("\(b).queued_at")), 'startedAt', \(ProjectionWriter.timeText("\(b).started_at")),
            'finishedAt', \(ProjectionWriter.timeText("\(b).finished_at")), 'requestedBy', \(b).requested_by,
            'correlationId', \(b).correlation_id, 'position', \(b).position))
        """
    }

    /// Builds, newest first, filtered by codeflow and state; only those of services in `visibleLines` when given.
    public func buildsJSON(codeflow: String?, state: String?, limit: Int, visibleLines: [String]?) async throws -> String {
        try await codeflowRows("""
            SELECT jsonb_build_object('items', coalesce(jsonb_agg(j ORDER BY q DESC, id DESC), '[]'::jsonb))::text FROM (
              SELECT \(Self.buildJSON("b")) AS j, b.queued_at AS q, b.id
                FROM \(schema).builds b LEFT JOIN \(schema).services s ON s.name = b.service
               WHERE ($1 = '' OR b.codeflow = $1) AND ($2 = '' OR b.state = $2) AND ($5 OR s.business_line = ANY($4))
               ORDER BY b.queued_at DESC, b.id DESC LIMIT $3) x
            """, codeflow ?? "", state ?? "", limit, visibleLines ?? [], visibleLines == nil) { try $0.decode(String.self) }.first ?? #"{"items":[]}"#
    }

    public func buildJSON(id: String) async throws -> String? {
        try await codeflowRows("SELECT \(Self.buildJSON("b"))::text FROM \(schema).builds b WHERE b.id = $1", id) { try $0.decode(String.self) }.first
    }

    public func build(id: String) async throws -> BuildRecord? {
        try await builds(where: "id = $1", id).first
    }

    /// Builds in these states (the worker's sweep of runners that are gone).
    public func builds(inStates states: [String]) async throws -> [BuildRecord] {
        try await builds(where: "state = ANY($1)", states)
    }

    private func builds(where condition: String, _ value: any PostgresEncodable) async throws -> [BuildRecord] {
        try await codeflowRows("""
            SELECT id, codeflow, service, state, ref, coalesce(commit, ''), coalesce(runner, ''), spec::text, trigger::text, correlation_id, position
              FROM \(schema).builds WHERE \(condition)
            """, value) { row in
            let c = Array(row)
            func text(_ i: Int) throws -> String { try c[i].decode(String.self) }
            return BuildRecord(id: try text(0), codeflow: try text(1), service: try text(2), state: try text(3), ref: try text(4),
                               commit: try text(5).isEmpty ? nil : try text(5), runner: try text(6).isEmpty ? nil : try text(6),
                               spec: try Self.decodeSpec(try text(7)), trigger: try CanonicalJSON.decode(BuildTrigger.self, from: try text(8)),
                               correlationId: try text(9), position: try text(10))
        }
    }
}
