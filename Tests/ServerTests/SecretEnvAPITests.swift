import EventLog
import Events
import Foundation
import PostgresNIO
import Testing
import TestSupport

/// Secret env values through the API: only ciphertext reaches the log and no read model holds even that; reads
/// are masked; only an owner of the line can reveal a value, and each reveal is in the log before the value is
/// answered.
@Suite struct SecretEnvAPITests {
    typealias Reply = (status: Int, json: [String: Any], text: String)

    @Test func secretsAreSealedMaskedAndRevealedOnlyToOwnersWithAnAuditRecord() async throws {
        try await ServerHarness.with { harness, client in
            func ok(_ r: Reply, _ what: String) { #expect((200..<300).contains(r.status), "\(what): \(r.text)") }
            func position(_ r: Reply) -> String { r.json["position"] as? String ?? "" }
            // Distinct values, so a search of the database cannot mistake one for another.
            let password = "pw-\(UUID().uuidString)", apiKey = "key-\(UUID().uuidString)", rotated = "pw2-\(UUID().uuidString)"

            // Users: owner olga, developer dev of line pay.
            var last: Reply = (0, [:], "")
            for user in ["olga", "dev"] {
                last = try await client.call(.post, "/v1/users", json: #"{"name": "\#(user)", "displayName": "\#(user)", "email": "\#(user)@example.com"}"#)
                ok(last, user)
            }
            let users = position(last)
            let line = try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "Payments"}"#)
            ok(line, "line")
            _ = try await client.call(.get, "/v1/business-lines?after=\(position(line))")
            _ = try await client.call(.get, "/v1/users?after=\(users)")
            ok(try await client.call(.put, "/v1/business-lines/pay/members/olga", json: #"{"role": "owner"}"#), "olga owns pay")
            let grant = try await client.call(.put, "/v1/business-lines/pay/members/dev", json: #"{"role": "developer"}"#)
            ok(grant, "dev develops pay")
            _ = try await client.call(.get, "/v1/business-lines?after=\(position(grant))")
            var tokens: [String] = []
            for user in ["olga", "dev"] {
                let issued = try await client.call(.post, "/v1/users/\(user)/tokens", json: #"{"description": "t"}"#)
                tokens.append(try #require(issued.json["token"] as? String, "\(issued.text)"))
                _ = try await client.call(.get, "/v1/users/\(user)/tokens?after=\(position(issued))")  // usable once projected
            }
            let (olga, dev) = (tokens[0], tokens[1])

            // Create with one plain and two secret variables.
            let created = try await client.call(.post, "/v1/services", json: """
                {"name": "pay-api", "businessLine": "pay", "image": "r.example.com/p:1", "replicas": 1,
                 "env": {"MODE": "prod"}, "secretEnv": {"DB_PASSWORD": "\(password)", "API_KEY": "\(apiKey)"}}
                """, token: olga)
            #expect(created.status == 201, "\(created.text)")
            let service = try await client.call(.get, "/v1/services/pay-api?after=\(position(created))", token: dev)
            #expect(service.json["secretEnv"] as? [String: String] == ["DB_PASSWORD": "********", "API_KEY": "********"], "\(service.text)")
            #expect(service.json["env"] as? [String: String] == ["MODE": "prod"])
            #expect(!service.text.contains(password) && !service.text.contains("wharf-sealed"), "reads are masked: \(service.text)")
            let revisions = try await client.call(.get, "/v1/services/pay-api/revisions", token: dev)
            #expect(revisions.text.contains("********") && !revisions.text.contains("wharf-sealed"), "\(revisions.text)")
            #expect(!created.text.contains(password), "the write's answer carries no value")

            // The value is nowhere in the database, in clear or hex, in the log or any read model; the log has it sealed.
            let found = try await Self.occurrences(of: [password, apiKey], in: harness.store.database)
            #expect(found.isEmpty, "plain secret found in \(found)")
            #expect(try await Self.occurrences(of: ["wharf-sealed:v1:"], in: harness.store.database).contains { $0.contains("wharf_log") },
                    "the log carries the sealed form")

            // A developer may not reveal: 403, recorded as denied, nothing opened.
            let before = try await harness.commandCount()
            let refused = try await client.call(.post, "/v1/services/pay-api/secret-env/DB_PASSWORD/reveal", token: dev)
            #expect(refused.status == 403 && !refused.text.contains(password), "\(refused.text)")
            #expect(try await harness.commandCount() == before + 1, "the refusal is recorded, nothing else")

            // The owner may; the reveal is in the audit under her name.
            let revealed = try await client.call(.post, "/v1/services/pay-api/secret-env/DB_PASSWORD/reveal", token: olga)
            #expect(revealed.status == 200 && revealed.json["value"] as? String == password, "\(revealed.text)")
            #expect(revealed.json["revision"] as? Int == 1)
            let audit = try await client.call(.get, "/v1/audit?aggregate=service/pay-api&after=\(position(revealed))")
            let rows = (audit.json["items"] as? [[String: Any]]) ?? []
            #expect(rows.contains { $0["commandType"] as? String == "RevealServiceSecret" && $0["actor"] as? String == "user:olga"
                                    && $0["outcome"] as? String == "accepted" }, "\(audit.text)")
            let missing = try await client.call(.post, "/v1/services/pay-api/secret-env/NOPE/reveal", token: olga)
            #expect(missing.status == 404 && missing.json["value"] == nil, "\(missing.text)")

            // Set one, remove another: merged, not replaced; a name in both env and secretEnv is refused.
            let set = try await client.call(.patch, "/v1/services/pay-api", json: #"{"secretEnv": {"DB_PASSWORD": "\#(rotated)"}, "removeSecretEnv": ["API_KEY"]}"#, token: olga)
            ok(set, "rotate and remove")
            let now = try await client.call(.get, "/v1/services/pay-api?after=\(position(set))", token: olga)
            #expect(now.json["secretEnv"] as? [String: String] == ["DB_PASSWORD": "********"] && now.json["revision"] as? Int == 2, "\(now.text)")
            #expect(try await client.call(.post, "/v1/services/pay-api/secret-env/DB_PASSWORD/reveal", token: olga).json["value"] as? String == rotated)
            let clash = try await client.call(.patch, "/v1/services/pay-api", json: #"{"env": {"DB_PASSWORD": "plain"}}"#, token: olga)
            #expect(clash.status == 422 && clash.text.contains("both env and secretEnv"), "\(clash.text)")
            let removeUnknown = try await client.call(.patch, "/v1/services/pay-api", json: #"{"removeSecretEnv": ["NOPE"]}"#, token: olga)
            #expect(removeUnknown.status == 422, "\(removeUnknown.text)")

            // Rollback to revision 1 brings back its sealed values.
            let rolled = try await client.call(.post, "/v1/services/pay-api/rollback", json: #"{"revision": 1}"#, token: olga)
            ok(rolled, "rollback")
            #expect(try await client.call(.post, "/v1/services/pay-api/secret-env/API_KEY/reveal", token: olga).json["value"] as? String == apiKey)

            // Bad input at the door, nothing appended: a bad name, a value with NUL, an oversized value, a plain
            // value where the command wants a sealed one cannot be sent at all (the API seals everything).
            let count = try await harness.commandCount()
            let big = String(repeating: "x", count: 32 * 1024 + 1)
            for (body, field) in [(#"{"secretEnv": {"1BAD": "x"}}"#, "secretEnv"), (#"{"secretEnv": {"A": "a\u0000b"}}"#, "secretEnv.A"),
                                  (#"{"secretEnv": {"A": "\#(big)"}}"#, "secretEnv.A"), (#"{"secretEnv": {"A": 1}}"#, "secretEnv")] {
                let r = try await client.call(.patch, "/v1/services/pay-api", json: body, token: olga)
                #expect(r.status == 422 && (r.json["field"] as? String ?? "").hasPrefix(field), "\(field): \(r.text.prefix(300))")
            }
            #expect(try await harness.commandCount() == count, "bad input appended nothing")
        }
    }

    /// Every (schema.table) whose rows, as text, contain one of the strings, in clear or as hex (bytea columns).
    static func occurrences(of needles: [String], in database: Database) async throws -> [String] {
        try await database.client.withConnection { c in
            var tables: [String] = []
            for try await (schema, table) in try await c.query("""
                SELECT table_schema, table_name FROM information_schema.tables
                 WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
                """, logger: TestEnvironment.logger).decode((String, String).self) {
                tables.append("\"\(schema)\".\"\(table)\"")
            }
            var found: [String] = []
            for table in tables {
                for needle in needles {
                    let hex = Data(needle.utf8).map { String(format: "%02x", $0) }.joined()
                    let rows = try await c.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table) t WHERE t::text LIKE $1 OR t::text LIKE $2",
                                                               binds: try { var b = PostgresBindings(); try b.append("%\(needle)%"); try b.append("%\(hex)%"); return b }()),
                                                 logger: TestEnvironment.logger)
                    for try await n in rows.decode(Int.self) where n > 0 { found.append(table) }
                }
            }
            return found
        }
    }
}
