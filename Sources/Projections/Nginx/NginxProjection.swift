import Events
import Foundation
import Logging
import PostgresNIO

/// Projects Nginx cluster events into `nginx_clusters`, `nginx_versions` and `nginx_nodes`. Each event is one
/// or two statements inside the projector's transaction; applying them in log order gives the same tables
/// however the batches are cut.
enum NginxProjection {
    static func apply(_ envelope: EventEnvelope, position: LogPosition, schema s: String, on c: PostgresConnection, logger: Logger) async throws {
        func run(_ sql: String, _ values: any PostgresEncodable...) async throws {
            try await c.query(PostgresQuery(unsafeSQL: sql, binds: binds(list: values)), logger: logger)
        }
        func json<T: Encodable>(_ value: T) throws -> String { try CanonicalJSON.encode(value) }
        func byName<T: Encodable>(_ items: [T], _ name: (T) -> String) throws -> String {
            "{" + (try items.map { "\(try json(name($0))):\(try json($0))" }).joined(separator: ",") + "}"
        }
        let pos = position.description
        /// Updates the cluster row ($1 name, $2 time, $3 actor; `set` may use $4 and $5) and stamps it.
        func cluster(_ set: String, _ name: String, _ a: any PostgresEncodable, _ b: (any PostgresEncodable)? = nil) async throws {
            let sql = "UPDATE \(s).nginx_clusters SET \(set), updated_at = $2::timestamptz, updated_by = $3, position = $\(b == nil ? 5 : 6) WHERE name = $1"
            if let b {
                try await run(sql, name, envelope.time, envelope.actor, a, b, pos)
            } else {
                try await run(sql, name, envelope.time, envelope.actor, a, pos)
            }
        }
        switch envelope.event.payload {
        case let e as NginxClusterCreated:
            try await run("""
                INSERT INTO \(s).nginx_clusters (name, environment, test_domain, nodes, upstreams, sites, members, latest_version, desired_version,
                                                 created_at, created_by, updated_at, updated_by, position)
                VALUES ($1, $2, nullif($3, 'null')::jsonb, $4::jsonb, $5::jsonb, $6::jsonb, '{}', 0, NULL, $7::timestamptz, $8, $7::timestamptz, $8, $9)
                ON CONFLICT (name) DO NOTHING
                """, e.name, e.environment.rawValue, try e.testDomain.map(json) ?? "null", try byName(e.nodes, \.name),
                          try byName(e.upstreams, \.name), try byName(e.sites, \.name), envelope.time, envelope.actor, pos)
            for node in e.nodes {
                try await run("INSERT INTO \(s).nginx_nodes (cluster, node, listen_address) VALUES ($1, $2, nullif($3, '')) ON CONFLICT DO NOTHING",
                              e.name, node.name, node.listenAddress ?? "")
            }
            return
        case let e as NginxNodeAdded:
            try await cluster("nodes = nodes || jsonb_build_object($4::text, $5::jsonb)", e.cluster, e.node.name, try json(e.node))
            try await run("INSERT INTO \(s).nginx_nodes (cluster, node, listen_address) VALUES ($1, $2, nullif($3, '')) ON CONFLICT DO NOTHING",
                          e.cluster, e.node.name, e.node.listenAddress ?? "")
        case let e as NginxNodeRemoved:
            try await cluster("nodes = nodes - $4::text", e.cluster, e.node)
            try await run("DELETE FROM \(s).nginx_nodes WHERE cluster = $1 AND node = $2", e.cluster, e.node)
        case let e as NginxUpstreamPut:
            try await cluster("upstreams = upstreams || jsonb_build_object($4::text, $5::jsonb)", e.cluster, e.upstream.name, try json(e.upstream))
        case let e as NginxUpstreamDeleted:
            try await cluster("upstreams = upstreams - $4::text", e.cluster, e.name)
        case let e as NginxSitePut:
            try await cluster("sites = sites || jsonb_build_object($4::text, $5::jsonb)", e.cluster, e.site.name, try json(e.site))
        case let e as NginxSiteDeleted:
            try await cluster("sites = sites - $4::text", e.cluster, e.name)
        case let e as NginxConfigRolledBack:
            try await cluster("upstreams = $4::jsonb, sites = $5::jsonb", e.cluster, try byName(e.upstreams, \.name), try byName(e.sites, \.name))
        case let e as NginxServiceMembersSynced:
            try await cluster("members = members || jsonb_build_object($4::text, $5::jsonb)", e.cluster, e.members.service, try json(e.members))
        case let e as NginxConfigVersionCreated:
            try await run("""
                INSERT INTO \(s).nginx_versions (cluster, version, reason, actor, time, text, sha256, diff, rolled_back_to, status, position,
                                                 upstreams, sites)
                SELECT $1, $2, $3, $4, $5::timestamptz, $6, $7, $8, nullif($9, 0), 'pending', $10, c.upstreams, c.sites
                  FROM \(s).nginx_clusters c WHERE c.name = $1
                ON CONFLICT DO NOTHING
                """, e.cluster, e.version, e.reason, envelope.actor, envelope.time, e.text, e.sha256, e.diff, e.rolledBackTo ?? 0, pos)
            try await cluster("latest_version = $4", e.cluster, e.version)
        case let e as NginxConfigValidated:
            try await run("UPDATE \(s).nginx_versions SET status = $3, message = $4, signature = nullif($5, '') WHERE cluster = $1 AND version = $2",
                          e.cluster, e.version, e.valid ? "valid" : "invalid", e.message, e.signature ?? "")
            if e.valid {
                try await cluster("desired_version = greatest(coalesce(desired_version, 0), $4)", e.cluster, e.version)
            }
        case let e as NginxNodeReported:
            // applied: the node runs that version and matches it; drift: its live file differs from what it applied.
            try await run("""
                UPDATE \(s).nginx_nodes SET last_outcome = $3, last_version = $4, message = $5, reported_at = $6::timestamptz,
                       applied_version = CASE WHEN $3 = 'applied' THEN $4 ELSE applied_version END,
                       drift = CASE $3 WHEN 'applied' THEN false WHEN 'drift' THEN true ELSE drift END,
                       live_sha256 = CASE $3 WHEN 'applied' THEN NULL WHEN 'drift' THEN nullif($7, '') ELSE live_sha256 END
                 WHERE cluster = $1 AND node = $2
                """, e.cluster, e.node, e.outcome.rawValue, e.version, e.message, envelope.time, e.liveSha256 ?? "")
            return
        default:
            return
        }
    }
}
