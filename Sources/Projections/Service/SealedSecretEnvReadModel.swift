import Events
import EventLog
import Foundation
import Logging
import PostgresNIO

/// `sealed_secret_env`: each service's secret env as the log holds it, sealed (AES-256-GCM ciphertext, never plain
/// text), for the cluster workers, which open it with the installation's secret keys to render the service's
/// Kubernetes Secret. Apart from `services`, whose rows the API serves and which keeps only names and key ids.
struct SealedSecretEnvReadModel: ReadModel {
    let name = "sealed_secret_env"
    let layoutVersion = 1
    let tables = ["sealed_secret_env"]

    func createStatements(schema s: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(s).sealed_secret_env (
                service text PRIMARY KEY,
                revision int NOT NULL,
                sealed jsonb NOT NULL,
                position text NOT NULL
            )
            """,
        ]
    }

    func apply(_ events: ProjectedEvents, schema s: String, on c: PostgresConnection, logger: Logger) async throws {
        for event in events {
            let e = event.envelope
            guard AggregateKey.kind(of: e.aggregate) == ServiceAggregate.kind else { continue }
            let position = event.record.position.description
            let template: (name: String, revision: Int, value: PodTemplate)
            switch e.event.payload {
            case let p as ServiceCreated: template = (p.name, p.revision, p.template)
            case let p as ServiceConfigUpdated: template = (p.name, p.revision, p.template)
            case let p as ServiceImageUpgraded: template = (p.name, p.revision, p.template)
            case let p as ServiceRolledBack: template = (p.name, p.revision, p.template)
            case let p as ServiceDestroyed:
                try await c.query("DELETE FROM \(unescaped: s).sealed_secret_env WHERE service = \(p.name)", logger: logger)
                continue
            default:
                continue
            }
            if template.value.secretEnv.isEmpty {
                try await c.query("DELETE FROM \(unescaped: s).sealed_secret_env WHERE service = \(template.name)", logger: logger)
            } else {
                try await c.query("""
                    INSERT INTO \(unescaped: s).sealed_secret_env (service, revision, sealed, position)
                    VALUES (\(template.name), \(template.revision), \(try CanonicalJSON.encode(template.value.secretEnv))::jsonb, \(position))
                    ON CONFLICT (service) DO UPDATE SET revision = EXCLUDED.revision, sealed = EXCLUDED.sealed, position = EXCLUDED.position
                    """, logger: logger)
            }
        }
    }
}

extension ReadModelQueries {
    /// Every service's sealed secret env (services without any are absent), for the cluster workers only.
    public func sealedSecretEnv() async throws -> [String: [String: String]] {
        try await require("sealed_secret_env")
        return try await database.client.withConnection { c in
            var out: [String: [String: String]] = [:]
            let rows = try await c.query("SELECT service, sealed::text FROM \(unescaped: schema).sealed_secret_env", logger: database.logger)
            for try await (service, sealed) in rows.decode((String, String).self) {
                out[service] = try CanonicalJSON.decode([String: String].self, from: sealed)
            }
            return out
        }
    }
}
