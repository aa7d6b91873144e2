import Events
import EventLog
import Logging
import PostgresNIO

/// `nginx_clusters` (spec as jsonb), `nginx_versions` (text, diff, status, nginx's message) and `nginx_nodes`
/// (applied version, last outcome, drift).
struct NginxReadModel: ReadModel {
    let name = "nginx"
    /// 2: versions keep the upstreams and sites they were rendered from (a rollback carries them to the decider).
    /// 3: versions keep the worker's signature of a valid version, which node agents check.
    let layoutVersion = 3
    let tables = ["nginx_clusters", "nginx_versions", "nginx_nodes"]

    func createStatements(schema s: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(s).nginx_clusters (
                name text PRIMARY KEY,
                environment text NOT NULL,
                test_domain jsonb,
                nodes jsonb NOT NULL,
                upstreams jsonb NOT NULL,
                sites jsonb NOT NULL,
                members jsonb NOT NULL,
                latest_version int NOT NULL,
                desired_version int,
                created_at timestamptz NOT NULL,
                created_by text NOT NULL,
                updated_at timestamptz NOT NULL,
                updated_by text NOT NULL,
                position text NOT NULL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).nginx_versions (
                cluster text NOT NULL,
                version int NOT NULL,
                reason text NOT NULL,
                actor text NOT NULL,
                time timestamptz NOT NULL,
                text text NOT NULL,
                sha256 text NOT NULL,
                diff text NOT NULL,
                rolled_back_to int,
                status text NOT NULL,
                message text,
                position text NOT NULL,
                upstreams jsonb NOT NULL,
                sites jsonb NOT NULL,
                signature text,
                PRIMARY KEY (cluster, version)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).nginx_nodes (
                cluster text NOT NULL,
                node text NOT NULL,
                listen_address text,
                applied_version int,
                last_outcome text,
                last_version int,
                message text,
                drift boolean NOT NULL DEFAULT false,
                live_sha256 text,
                reported_at timestamptz,
                PRIMARY KEY (cluster, node)
            )
            """,
        ]
    }

    /// Nginx events are few and large (whole config texts): applied one by one, in log order.
    func apply(_ events: ProjectedEvents, schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        for event in events {
            guard AggregateKey.kind(of: event.envelope.aggregate) == NginxClusterAggregate.kind else { continue }
            try await NginxProjection.apply(event.envelope, position: event.record.position, schema: schema, on: connection, logger: logger)
        }
    }
}
