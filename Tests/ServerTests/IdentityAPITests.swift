import Events
import Foundation
import Testing
import TestSupport

/// Users, lines, roles and tokens through the API: bad input is a 4xx naming the field and appends nothing;
/// reads show a member only their lines; the audit names the real person.
@Suite struct IdentityAPITests {
    @Test func badInputAppendsNothingAndListsAreFiltered() async throws {
        try await ServerHarness.with { harness, client in
            func ok(_ r: (status: Int, json: [String: Any], text: String), _ what: String) { #expect((200..<300).contains(r.status), "\(what): \(r.text)") }
            let alice = try await client.call(.post, "/v1/users", json: #"{"name": "alice", "displayName": "Alice", "email": "alice@example.com"}"#)
            ok(alice, "alice")
            let after = "?after=\(alice.json["position"] as? String ?? "")"
            let pay = try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "Payments"}"#)
            ok(pay, "pay")
            let shop = try await client.call(.post, "/v1/business-lines", json: #"{"name": "shop", "displayName": "Shop"}"#)
            ok(shop, "shop")
            // After both lines and alice are projected (each position waits for its own partition).
            for position in [alice.json["position"], shop.json["position"]] {
                _ = try await client.call(.get, "/v1/business-lines?after=\(position as? String ?? "")")
            }
            let grant = try await client.call(.put, "/v1/business-lines/pay/members/alice?after=\(pay.json["position"] as? String ?? "")",
                                              json: #"{"role": "owner"}"#)
            ok(grant, "alice owns pay")
            let aliceToken = try #require(try await client.call(.post, "/v1/users/alice/tokens\(after)", json: #"{"description": "t"}"#).json["token"] as? String)
            ok(try await client.call(.post, "/v1/services", json: #"{"name": "pay-api", "businessLine": "pay", "image": "r.example.com/p:1", "replicas": 1}"#), "pay-api")
            let last = try await client.call(.post, "/v1/services", json: #"{"name": "shop-web", "businessLine": "shop", "image": "r.example.com/s:1", "replicas": 1}"#)
            ok(last, "shop-web")
            try await Task.sleep(for: .milliseconds(1100))  // grants cached by the authorizer

            let before = try await harness.commandCount()
            let refusals: [(String, (status: Int, json: [String: Any], text: String), Int, String?)] = [
                ("unknown platform role", try await client.call(.put, "/v1/platform-roles/alice", json: #"{"roles": ["root"]}"#), 422, "roles"),
                ("unknown line role", try await client.call(.put, "/v1/business-lines/pay/members/alice", json: #"{"role": "king"}"#), 422, "role"),
                ("unknown user in a grant", try await client.call(.put, "/v1/business-lines/pay/members/nobody", json: #"{"role": "viewer"}"#), 404, "user"),
                ("unknown line in a grant", try await client.call(.put, "/v1/business-lines/nope/members/alice", json: #"{"role": "viewer"}"#), 404, "line"),
                ("unknown user's roles", try await client.call(.put, "/v1/platform-roles/nobody", json: #"{"roles": []}"#), 404, "user"),
                ("token for an unknown user", try await client.call(.post, "/v1/users/nobody/tokens", json: #"{"description": "x"}"#), 404, "name"),
                ("duplicate user", try await client.call(.post, "/v1/users", json: #"{"name": "alice", "displayName": "A", "email": "a@example.com"}"#), 409, "name"),
                ("duplicate line", try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "P"}"#), 409, "name"),
                ("bad email", try await client.call(.post, "/v1/users", json: #"{"name": "bob", "displayName": "Bob", "email": "bob"}"#), 422, "email"),
                ("bad user name", try await client.call(.post, "/v1/users", json: #"{"name": "Bob!", "displayName": "Bob", "email": "b@example.com"}"#), 422, "name"),
                ("expiry in the past", try await client.call(.post, "/v1/users/alice/tokens", json: #"{"description": "x", "expiresAt": "2020-01-01T00:00:00Z"}"#), 422, "expiresAt"),
                ("expiry not a time", try await client.call(.post, "/v1/users/alice/tokens", json: #"{"description": "x", "expiresAt": "tomorrow"}"#), 422, "expiresAt"),
                ("unknown field", try await client.call(.post, "/v1/users", json: #"{"name": "bob", "displayName": "Bob", "email": "b@example.com", "admin": true}"#), 422, "admin"),
            ]
            for (what, r, status, field) in refusals {
                #expect(r.status == status, "\(what): \(r.status) \(r.text)")
                if let field { #expect(r.json["field"] as? String == field || r.text.contains(field), "\(what) names \(field): \(r.text)") }
            }
            #expect(try await harness.commandCount() == before, "bad input appended nothing")

            // Granting beyond what one holds: an owner of pay cannot grant in shop, nor give platform roles.
            let beyond = try await client.call(.put, "/v1/business-lines/shop/members/alice", json: #"{"role": "owner"}"#, token: aliceToken)
            #expect(beyond.status == 403 && beyond.text.contains("owner in business line \\\"shop\\\""), "\(beyond.text)")
            let platform = try await client.call(.put, "/v1/platform-roles/alice", json: #"{"roles": ["admin"]}"#, token: aliceToken)
            #expect(platform.status == 403, "\(platform.text)")
            #expect(try await harness.commandCount() == before + 2, "two refusals recorded, nothing else")

            // A member sees their lines only; the audit names the person.
            let services = (try await client.call(.get, "/v1/services", token: aliceToken).json["items"] as? [[String: Any]]) ?? []
            #expect(services.compactMap { $0["name"] as? String } == ["pay-api"])
            let lines = (try await client.call(.get, "/v1/business-lines", token: aliceToken).json["items"] as? [[String: Any]]) ?? []
            #expect(lines.compactMap { $0["name"] as? String } == ["pay"])
            let scaled = try await client.call(.post, "/v1/services/pay-api/scale", json: #"{"replicas": 3}"#, token: aliceToken)
            #expect(scaled.status == 200, "\(scaled.text)")
            let audit = try await client.call(.get, "/v1/audit?aggregate=service/pay-api&after=\(scaled.json["position"] as? String ?? "")", token: aliceToken)
            let actors = ((audit.json["items"] as? [[String: Any]]) ?? []).compactMap { $0["actor"] as? String }
            #expect(actors == ["user:admin", "user:alice"], "\(audit.text)")
            let hidden = try await client.call(.get, "/v1/audit?aggregate=service/shop-web", token: aliceToken)
            #expect((hidden.json["items"] as? [[String: Any]])?.isEmpty == true, "another line's audit is not shown: \(hidden.text)")
            let canI = try await client.call(.get, "/v1/auth/can-i?verb=manage&resource=service/shop-web", token: aliceToken)
            #expect(canI.json["allowed"] as? Bool == false && canI.status == 200)
            #expect(try await client.call(.get, "/v1/auth/can-i?verb=deploy&resource=service/pay-api", token: aliceToken).json["allowed"] as? Bool == true)
            let whoami = try await client.call(.get, "/v1/whoami", token: aliceToken).json
            #expect(whoami["user"] as? String == "alice" && (whoami["businessLines"] as? [String: String]) == ["pay": "owner"])
        }
    }

    /// Someone with write access to the database moves a service into another line in the read model; the API
    /// then authorizes that line's developer, but the processor re-checks against the log and changes nothing.
    @Test func aTamperedReadModelDoesNotWidenWhatACallerMayChange() async throws {
        try await ServerHarness.with { harness, client in
            typealias Reply = (status: Int, json: [String: Any], text: String)
            func position(_ r: Reply) -> String { r.json["position"] as? String ?? "" }
            let user = try await client.call(.post, "/v1/users", json: #"{"name": "mallory", "displayName": "M", "email": "m@example.com"}"#)
            let line = try await client.call(.post, "/v1/business-lines", json: #"{"name": "shop", "displayName": "Shop"}"#)
            _ = try await client.call(.get, "/v1/users?after=\(position(user))")
            _ = try await client.call(.get, "/v1/business-lines?after=\(position(line))")
            let grant = try await client.call(.put, "/v1/business-lines/shop/members/mallory", json: #"{"role": "developer"}"#)
            #expect(grant.status == 200, "\(grant.text)")
            let issued = try await client.call(.post, "/v1/users/mallory/tokens", json: #"{"description": "t"}"#)
            let token = try #require(issued.json["token"] as? String, "\(issued.text)")
            let created = try await client.call(.post, "/v1/services", json: #"{"name": "pay-api", "businessLine": "pay", "image": "r.example.com/p:1", "replicas": 1}"#)
            for p in [position(grant), position(issued), position(created)] { _ = try await client.call(.get, "/v1/services?after=\(p)") }

            // (No honest attempt first: the authorizer would keep the true line of pay-api for 30 s.)
            try await harness.store.database.client.withConnection { c in
                _ = try await c.query("UPDATE wharf_read.services SET business_line = 'shop' WHERE name = 'pay-api'", logger: TestEnvironment.logger)
            }
            let forged = try await client.call(.post, "/v1/services/pay-api/scale", json: #"{"replicas": 3}"#, token: token)
            #expect(forged.status == 409 && forged.text.contains("belongs to business line"), "the log refuses: \(forged.text)")
            let rows = (try await client.call(.get, "/v1/audit?aggregate=service/pay-api&after=\(position(forged))").json["items"] as? [[String: Any]]) ?? []
            #expect(rows.last?["outcome"] as? String == "rejected" && rows.last?["actor"] as? String == "user:mallory")
            let service = try await client.call(.get, "/v1/services/pay-api")
            #expect(service.json["replicas"] as? Int == 1, "nothing changed: \(service.text)")
        }
    }
}
