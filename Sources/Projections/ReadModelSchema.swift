/// The read models live in one Postgres schema so that `wharf projections rebuild` can build a fresh copy
/// beside them and swap it in with two renames.
public enum ReadModelSchema {
    public static let live = "wharf_read"
    public static let rebuild = "wharf_read_rebuild"
    /// NOTIFY channel on which projectors announce progress ("partition:nextOffset").
    public static let progressChannel = "wharf_read"
    /// Bumped whenever a table's shape changes. Read models are disposable: a schema of another layout is dropped
    /// on start and rebuilt from the log by the projector.
    public static let layoutVersion = 3

    public static func statements(schema s: String) -> [String] {
        [
            "CREATE SCHEMA IF NOT EXISTS \(s)",
            """
            CREATE TABLE IF NOT EXISTS \(s).services (
                name text PRIMARY KEY,
                business_line text NOT NULL,
                image text NOT NULL,
                replicas int NOT NULL,
                revision int NOT NULL,
                status text NOT NULL,
                env jsonb NOT NULL,
                ports jsonb NOT NULL,
                health_check jsonb,
                domain text,
                addresses jsonb NOT NULL DEFAULT '[]',
                created_at timestamptz NOT NULL,
                created_by text NOT NULL,
                updated_at timestamptz NOT NULL,
                updated_by text NOT NULL,
                position text NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS services_business_line ON \(s).services (business_line)",
            """
            CREATE TABLE IF NOT EXISTS \(s).service_revisions (
                service text NOT NULL,
                revision int NOT NULL,
                cause text NOT NULL,
                image text NOT NULL,
                template jsonb NOT NULL,
                rolled_back_to int,
                actor text NOT NULL,
                time timestamptz NOT NULL,
                position text NOT NULL,
                PRIMARY KEY (service, revision)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).audit (
                command_id text PRIMARY KEY,
                aggregate text NOT NULL,
                actor text NOT NULL,
                command_type text NOT NULL,
                outcome text NOT NULL,
                code text,
                reason text,
                time timestamptz NOT NULL,
                partition int NOT NULL,
                "offset" bigint NOT NULL,
                position text NOT NULL,
                command_position text NOT NULL,
                event_count int NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS audit_aggregate_time ON \(s).audit (aggregate, time)",
            "CREATE INDEX IF NOT EXISTS audit_actor_time ON \(s).audit (actor, time)",
            "CREATE INDEX IF NOT EXISTS audit_time ON \(s).audit (time, partition, \"offset\")",
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
            "CREATE TABLE IF NOT EXISTS \(s).layout (version int NOT NULL)",
            "INSERT INTO \(s).layout (version) SELECT \(layoutVersion) WHERE NOT EXISTS (SELECT 1 FROM \(s).layout)",
            // The projector's checkpoint per events partition, written in the same transaction as the rows.
            """
            CREATE TABLE IF NOT EXISTS \(s).offsets (
                partition int PRIMARY KEY,
                next_offset bigint NOT NULL
            )
            """,
        ]
    }
}
