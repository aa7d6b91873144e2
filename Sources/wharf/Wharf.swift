import ArgumentParser

@main
struct Wharf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wharf",
        abstract: "Wharf: an event-sourced control plane for a container cloud.",
        discussion: """
        Every intent (create a service, scale it, ...) is recorded in an append-only,
        hash-chained log; pure deciders turn intents into events; projections in
        Postgres answer queries.

        Settings (environment):
          WHARF_HTTP_PORT         API port (default 8080)
          WHARF_HTTP_HOST         bind address (default 127.0.0.1)
          WHARF_DATA_DIR          data directory (default ./.wharf)
          WHARF_DATABASE_URL      postgres://user:pass@host:port/db; unset: a
                                  private Postgres under the data directory
          WHARF_EVENT_LOG         postgres (default: the log in the database) or
                                  kafka://host:port[,host:port] (needs
                                  librdkafka >= 2.3 at run time)
          WHARF_PARTITIONS        partitions per topic on Postgres (default 12)
          WHARF_KAFKA_PARTITIONS  partitions per topic on Kafka (default 12)
          WHARF_KAFKA_TOPIC_PREFIX  Kafka topic names' prefix (default "wharf.")
          WHARF_KAFKA_REPLICATION replication factor of topics Wharf creates
                                  (default -1: the broker's default)
          WHARF_BOOTSTRAP_TOKEN   the token of the first admin ("admin"), made on the
                                  first start of an empty installation (otherwise
                                  one is generated and printed once); ignored later
          WHARF_SIGNING_KEY_FILE  checkpoint signing key
                                  (default $WHARF_DATA_DIR/checkpoint-signing.key)
          WHARF_NGINX             nginx binary for the nginx -t check of config
                                  versions (default: nginx on PATH, /usr/sbin)
          WHARF_JWT_ISSUER, WHARF_JWT_AUDIENCE, WHARF_JWT_JWKS
                                  SSO (all three or none): accept JWTs of that
                                  issuer and audience signed by a key of the
                                  JWKS (file or http(s) URL); users are
                                  provisioned on first use, with no roles
          WHARF_JWT_USER_CLAIM    claim naming the user (preferred_username)
          WHARF_TLS_CERT, WHARF_TLS_KEY
                                  PEM certificate chain and key: serve HTTPS
          WHARF_KAFKA_PROPERTIES  file of librdkafka security.*/ssl.*/sasl.*
                                  settings (TLS, SASL) for the brokers
          WHARF_SNAPSHOT_EVERY    events between the processor's state snapshots
                                  per partition (default 10000)
          WHARF_LOG_LEVEL         trace ... critical (serve: info, tools: warning)
          WHARF_URL, WHARF_TOKEN  API address and token for API subcommands
        """,
        subcommands: [Serve.self, ServiceCommand.self, NginxCommand.self, NginxAgentCommand.self, AuditCommand.self, ProjectionsCommand.self,
                      StatusCommand.self, UsersCommand.self, TokensCommand.self, BusinessLinesCommand.self, AuthCommand.self, CodeflowCommand.self, BuildCommand.self, ClusterCommand.self,
                      BenchCommand.self])
}
