import EventLog
import Events
import Foundation
import PostgresNIO

/// The version a node should run, as the agent pulls it.
public struct NginxDesired: Sendable {
    public var version: Int
    public var text: String
    public var listenAddress: String?
    /// The worker's signature of (cluster, version, sha256 of `text`); nil when the installation signs nothing.
    public var signature: String?
}

/// Nginx read-model queries. Listing and detail queries let Postgres build the API's JSON directly.
extension ReadModelQueries {
    private func jsonText(_ sql: String, _ values: any PostgresEncodable...) async throws -> String? {
        try await require("nginx")
        let bindings = try binds(list: values)
        return try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: database.logger)
            for try await text in rows.decode(String?.self) { return text }
            return nil
        }
    }

    private var s: String { schema }

    private func ordered(_ column: String) -> String {
        "(SELECT coalesce(jsonb_agg(v ORDER BY k), '[]'::jsonb) FROM jsonb_each(\(column)) AS e(k, v))"
    }

    private var nodeObject: String {
        """
        jsonb_build_object('node', n.node, 'listenAddress', n.listen_address, 'appliedVersion', n.applied_version,
                           'lastOutcome', n.last_outcome, 'lastVersion', n.last_version, 'message', n.message, 'drift', n.drift,
                           'liveSha256', n.live_sha256, 'reportedAt', \(ProjectionWriter.timeText("n.reported_at")),
                           'inSync', (n.applied_version IS NOT DISTINCT FROM c.desired_version AND NOT n.drift))
        """
    }

    public func nginxClusters() async throws -> String {
        try await jsonText("""
            SELECT jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
                     'name', name, 'environment', environment, 'nodes', (SELECT count(*) FROM jsonb_object_keys(nodes)),
                     'sites', (SELECT count(*) FROM jsonb_object_keys(sites)), 'upstreams', (SELECT count(*) FROM jsonb_object_keys(upstreams)),
                     'latestVersion', latest_version, 'desiredVersion', desired_version,
                     'updatedAt', \(ProjectionWriter.timeText("updated_at")), 'updatedBy', updated_by) ORDER BY name), '[]'::jsonb))::text
              FROM \(s).nginx_clusters
            """) ?? #"{"items":[]}"#
    }

    public func nginxCluster(named name: String) async throws -> String? {
        try await jsonText("""
            SELECT jsonb_build_object('name', c.name, 'environment', c.environment, 'testDomain', c.test_domain,
                     'nodes', \(ordered("c.nodes")), 'upstreams', \(ordered("c.upstreams")), 'sites', \(ordered("c.sites")),
                     'members', \(ordered("c.members")), 'latestVersion', c.latest_version, 'desiredVersion', c.desired_version,
                     'nodeStatus', (SELECT coalesce(jsonb_agg(\(nodeObject) ORDER BY n.node), '[]'::jsonb)
                                      FROM \(s).nginx_nodes n WHERE n.cluster = c.name),
                     'createdAt', \(ProjectionWriter.timeText("c.created_at")), 'createdBy', c.created_by,
                     'updatedAt', \(ProjectionWriter.timeText("c.updated_at")), 'updatedBy', c.updated_by, 'position', c.position)::text
              FROM \(s).nginx_clusters c WHERE c.name = $1
            """, name)
    }

    private func versionObject(full: Bool) -> String {
        """
        jsonb_build_object('version', version, 'reason', reason, 'actor', actor, 'time', \(ProjectionWriter.timeText("time")),
                           'sha256', sha256, 'status', status, 'message', message, 'rolledBackTo', rolled_back_to, 'position', position
                           \(full ? ", 'text', text, 'diff', diff" : ""))
        """
    }

    /// nil when the cluster does not exist.
    public func nginxVersions(of cluster: String) async throws -> String? {
        try await jsonText("""
            SELECT CASE WHEN EXISTS (SELECT 1 FROM \(s).nginx_clusters WHERE name = $1) THEN
                     jsonb_build_object('items', coalesce((SELECT jsonb_agg(\(versionObject(full: false)) ORDER BY version)
                                                            FROM \(s).nginx_versions WHERE cluster = $1), '[]'::jsonb))::text END
            """, cluster)
    }

    public func nginxVersion(of cluster: String, number: Int) async throws -> String? {
        try await jsonText("SELECT \(versionObject(full: true))::text FROM \(s).nginx_versions WHERE cluster = $1 AND version = $2", cluster, number)
    }

    /// The full text of one version (for diffs between any two).
    public func nginxVersionText(of cluster: String, number: Int) async throws -> String? {
        try await jsonText("SELECT text FROM \(s).nginx_versions WHERE cluster = $1 AND version = $2", cluster, number)
    }

    /// What a version was made of (text, upstreams, sites), which a rollback carries to the decider; nil when the
    /// version does not exist.
    public func nginxVersionContent(of cluster: String, number: Int) async throws -> NginxVersionContent? {
        let json = try await jsonText("""
            SELECT jsonb_build_object('text', text, 'upstreams', \(ordered("upstreams")), 'sites', \(ordered("sites")))::text
              FROM \(s).nginx_versions WHERE cluster = $1 AND version = $2
            """, cluster, number)
        return try json.map { try CanonicalJSON.decode(NginxVersionContent.self, from: $0) }
    }

    /// nil when the cluster does not exist.
    public func nginxNodes(of cluster: String) async throws -> String? {
        try await jsonText("""
            SELECT jsonb_build_object('items', coalesce((SELECT jsonb_agg(\(nodeObject) ORDER BY n.node)
                                                           FROM \(s).nginx_nodes n WHERE n.cluster = c.name), '[]'::jsonb),
                                      'desiredVersion', c.desired_version)::text
              FROM \(s).nginx_clusters c WHERE c.name = $1
            """, cluster)
    }

    public enum NodeLookup: Sendable { case noSuchNode, noValidVersion, desired(NginxDesired) }

    /// The latest version that passed `nginx -t`, for one node of the cluster.
    public func nginxDesired(cluster: String, node: String) async throws -> NodeLookup {
        try await require("nginx")
        return try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: """
                SELECT v.version, v.text, n.listen_address, v.signature
                  FROM \(s).nginx_nodes n JOIN \(s).nginx_clusters cl ON cl.name = n.cluster
                  LEFT JOIN \(s).nginx_versions v ON v.cluster = n.cluster AND v.version = cl.desired_version
                 WHERE n.cluster = $1 AND n.node = $2
                """, binds: binds(cluster, node)), logger: database.logger)
            for try await (version, text, address, signature) in rows.decode((Int?, String?, String?, String?).self) {
                guard let version, let text else { return .noValidVersion }
                return .desired(NginxDesired(version: version, text: text, listenAddress: address, signature: signature))
            }
            return .noSuchNode
        }
    }

    /// Clusters whose upstreams route to `service`, and test clusters (which publish every service), with the members
    /// each last recorded for it ("null" when none).
    public func nginxClustersFollowing(service: String) async throws -> [(cluster: String, members: String)] {
        try await require("nginx")
        return try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: """
                SELECT name, coalesce(members -> $1, 'null'::jsonb)::text FROM \(s).nginx_clusters
                 WHERE test_domain IS NOT NULL
                    OR jsonb_path_exists(upstreams, '$.*.servers[*] ? (@.service == $s)', jsonb_build_object('s', $1::text))
                 ORDER BY name
                """, binds: binds(service)), logger: database.logger)
            var out: [(String, String)] = []
            for try await row in rows.decode((String, String).self) { out.append(row) }
            return out
        }
    }

    /// `nginxClustersFollowing(service:)` for several services in one query: by service, every one of `services`
    /// present (an empty list for a service nobody follows).
    public func nginxClustersFollowing(services: [String]) async throws -> [String: [(cluster: String, members: String)]] {
        try await require("nginx")
        var out: [String: [(cluster: String, members: String)]] = [:]
        for service in services { out[service] = [] }
        guard !services.isEmpty else { return out }
        return try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: """
                SELECT x.svc, cl.name, coalesce(cl.members -> x.svc, 'null'::jsonb)::text
                  FROM unnest($1::text[]) AS x(svc) JOIN \(s).nginx_clusters cl
                    ON cl.test_domain IS NOT NULL
                    OR jsonb_path_exists(cl.upstreams, '$.*.servers[*] ? (@.service == $s)', jsonb_build_object('s', x.svc))
                 ORDER BY x.svc, cl.name
                """, binds: binds(services)), logger: database.logger)
            for try await (service, cluster, members) in rows.decode((String, String, String).self) {
                out[service, default: []].append((cluster, members))
            }
            return out
        }
    }

    /// The services a cluster follows: those its upstreams name, or every service for a test cluster.
    public func nginxServicesFollowed(by cluster: String) async throws -> [String] {
        try await require("nginx")
        return try await database.client.withConnection { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: """
                SELECT DISTINCT svc FROM \(s).nginx_clusters cl,
                       LATERAL (SELECT jsonb_path_query(cl.upstreams, '$.*.servers[*].service') #>> '{}' AS svc
                                UNION SELECT name FROM \(s).services WHERE cl.test_domain IS NOT NULL) x
                 WHERE cl.name = $1 AND svc IS NOT NULL ORDER BY svc
                """, binds: binds(cluster)), logger: database.logger)
            var out: [String] = []
            for try await name in rows.decode(String.self) { out.append(name) }
            return out
        }
    }
}
