import Events
import Foundation
import HTTPTypes
import Server
import Testing
import TestSupport

/// Every route x every kind of caller, generated from the router's route table and the policy table: a route
/// without a policy fails here. The expectation comes from an oracle written out in this file (what the roles are
/// documented to mean), not from the authorizer under test. Allowed writes are made to fail validation (an unknown
/// body field, an over-long Idempotency-Key), so the only records appended are the refusals, and each refused
/// write must be in the audit as `denied`.
@Suite struct AuthorizationMatrixTests {
    enum Caller: String, CaseIterable {
        case admin, operatorRole, auditorRole, ownerA, developerA, viewerA, developerB, agent, revoked, expired, anonymous
    }

    /// What each requirement means for each caller, restated independently of `Authorizer`.
    static func allowed(_ requirement: Requirement, _ caller: Caller) -> Bool? {
        // Webhooks take no token: a delivery without the provider's secret is refused (401) whoever sends it.
        if requirement == .webhook { return nil }
        switch caller {
        case .revoked, .expired, .anonymous: return requirement == .open ? true : nil  // nil: 401
        case .admin: return true
        default: break
        }
        if requirement == .open { return true }
        if caller == .agent { return requirement == .agent }
        let reader = caller == .operatorRole || caller == .auditorRole
        switch requirement {
        case .open, .anyone, .filteredList: return true
        case .webhook: return nil
        case .agent, .platformWrite: return false
        case .platformRead, .infrastructureRead: return reader
        case .infrastructureWrite: return caller == .operatorRole
        case .selfOrAdmin: return caller == .developerA          // the routes name dev-a
        case .selfOrReader: return caller == .developerA || reader
        case .tokenOwner: return caller == .developerA           // dev-a's token
        case .line(let verb, _):                                 // every line-scoped route here is about line "pay"
            switch caller {
            case .ownerA: return true
            case .developerA: return verb != .manage
            case .viewerA: return verb == .read
            case .operatorRole, .auditorRole: return verb == .read
            default: return false
            }
        }
    }

    @Test func everyRouteForEveryCaller() async throws {
        try await ServerHarness.with { harness, client in
            func ok(_ r: (status: Int, json: [String: Any], text: String), _ what: String) throws {
                guard (200..<300).contains(r.status) else { throw Failure(description: "\(what): \(r.status) \(r.text)") }
            }
            var expiry = Date()
            func user(_ name: String, expiresIn: TimeInterval? = nil) async throws -> (token: String, id: String) {
                var after = ""
                if try await client.call(.get, "/v1/users").text.contains("\"\(name)\"") == false {
                    let created = try await client.call(.post, "/v1/users", json: #"{"name": "\#(name)", "displayName": "\#(name)", "email": "\#(name)@example.com"}"#)
                    try ok(created, "user \(name)")
                    after = "?after=\(created.json["position"] as? String ?? "")"
                }
                // The expiry is set just before the call: under load the user's creation may take seconds.
                if let expiresIn { expiry = Date().addingTimeInterval(expiresIn) }
                let body = expiresIn.map { _ in #"{"description": "matrix", "expiresAt": "\#(WharfTime.format(expiry))"}"# } ?? #"{"description": "matrix"}"#
                let r = try await client.call(.post, "/v1/users/\(name)/tokens\(after)", json: body)
                try ok(r, "token of \(name)")
                return (r.json["token"] as! String, r.json["id"] as! String)
            }
            let expiring = try await user("dev-a", expiresIn: 8)
            var tokens: [Caller: String] = [.admin: ServerHarness.token, .expired: expiring.token]
            tokens[.operatorRole] = try await user("op").token
            tokens[.auditorRole] = try await user("aud").token
            tokens[.ownerA] = try await user("owner-a").token
            let devA = try await user("dev-a")
            tokens[.developerA] = devA.token
            tokens[.viewerA] = try await user("viewer-a").token
            tokens[.developerB] = try await user("dev-b").token
            let gone = try await user("gone")
            try ok(try await client.call(.delete, "/v1/tokens/\(gone.id)"), "revoke")
            tokens[.revoked] = gone.token
            try ok(try await client.call(.put, "/v1/platform-roles/op", json: #"{"roles": ["operator"]}"#), "operator role")
            try ok(try await client.call(.put, "/v1/platform-roles/aud", json: #"{"roles": ["auditor"]}"#), "auditor role")
            let pay = try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "Payments"}"#)
            try ok(pay, "line pay")
            let shop = try await client.call(.post, "/v1/business-lines", json: #"{"name": "shop", "displayName": "Shop"}"#)
            try ok(shop, "line shop")
            // A grant checks that its line exists in the read model: read after that line's own write.
            let after = ["pay": "?after=\(pay.json["position"] as? String ?? "")", "shop": "?after=\(shop.json["position"] as? String ?? "")"]
            for (u, line, role) in [("owner-a", "pay", "owner"), ("dev-a", "pay", "developer"), ("viewer-a", "pay", "viewer"), ("dev-b", "shop", "developer")] {
                try ok(try await client.call(.put, "/v1/business-lines/\(line)/members/\(u)\(after[line]!)", json: #"{"role": "\#(role)"}"#), "\(u) in \(line)")
            }
            let payApi = try await client.call(.post, "/v1/services", json: #"{"name": "pay-api", "businessLine": "pay", "image": "registry.example.com/pay:1", "replicas": 1}"#)
            try ok(payApi, "pay-api")
            try ok(try await client.call(.post, "/v1/services", json: #"{"name": "shop-web", "businessLine": "shop", "image": "registry.example.com/shop:1", "replicas": 1}"#), "shop-web")
            // A codeflow of pay-api and a build of it (no build worker here: it stays queued).
            let codeflow = try await client.call(.put, "/v1/codeflows/pay-api?after=\(payApi.json["position"] as? String ?? "")",
                                                 json: CodeflowAPITests.codeflow(service: "pay-api"))
            try ok(codeflow, "codeflow")
            let build = try await client.call(.post, "/v1/codeflows/pay-api/builds?after=\(codeflow.json["position"] as? String ?? "")", json: #"{"ref": "main"}"#)
            try ok(build, "build")
            let buildId = try #require(((build.json["events"] as? [[String: Any]])?.first?["payload"] as? [String: Any])?["id"] as? String)
            let cluster = NginxAPITests.base.replacingOccurrences(of: "SITE", with: NginxAPITests.site)
                .replacingOccurrences(of: #""environment": "test", "#, with: #""environment": "test", "nodes": [{"name": "n1"}], "#)
            let created = try await client.call(.post, "/v1/nginx/clusters", json: cluster)
            try ok(created, "cluster")
            let agent = try await client.call(.post, "/v1/nginx/clusters/edge/nodes/n1/token?after=\(created.json["position"] as? String ?? "")")
            try ok(agent, "agent token")
            tokens[.agent] = agent.json["token"] as? String
            // Settle: the nginx worker validates version 1 (a command of its own), caches expire, the short token expires.
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let versions = try await client.call(.get, "/v1/nginx/clusters/edge/versions").text
                if versions.contains("\"status\":\"valid\"") || versions.contains("\"status\": \"valid\"") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await Task.sleep(for: .milliseconds(max(1200, Int(expiry.timeIntervalSinceNow * 1000) + 200)))

            let before = try await harness.commandCount()
            let routes = WharfAPI.routeTable(harness.runtime.router())
            var deniedWrites: [(actor: String, request: String)] = []
            let actors: [Caller: String] = [.admin: "user:admin", .operatorRole: "user:op", .auditorRole: "user:aud", .ownerA: "user:owner-a",
                                            .developerA: "user:dev-a", .viewerA: "user:viewer-a", .developerB: "user:dev-b",
                                            .agent: "agent:nginx/edge/n1"]
            for route in routes {
                let colon = route.path.split(separator: "/").map { $0.hasPrefix("{") ? ":" + $0.dropFirst().dropLast() : String($0) }
                    .reduce("") { $0 + "/" + $1 }
                let entry = try #require(PolicyTable.entries.first { $0.method.rawValue == route.method && $0.path == colon },
                                         "\(route.method) \(route.path) has no policy")
                let agentRoute = route.path.hasPrefix("/v1/nginx/agent/")
                let values = ["name": route.path.hasPrefix("/v1/users/") ? "dev-a" : route.path.hasPrefix("/v1/nginx/") ? "web" : "pay-api",
                              "cluster": "edge", "node": agentRoute ? "n1" : "nx", "version": "1",
                              "id": route.path.hasPrefix("/v1/builds/") ? buildId : devA.id,
                              "line": "pay", "variable": "DB_PASSWORD", "user": route.path.hasPrefix("/v1/platform-roles") ? "dev-a" : "viewer-a"]
                var path = route.path
                for (k, v) in values { path = path.replacingOccurrences(of: "{\(k)}", with: v) }
                let method = HTTPRequest.Method(route.method)!
                let write = method != .get
                let body: String? = !write || method == .delete ? nil
                    : path == "/v1/services" ? #"{"businessLine": "pay"}"#
                    : path.hasPrefix("/v1/codeflows/") && method == .put ? #"{"service": "pay-api"}"# : #"{"matrix": true}"#
                for caller in Caller.allCases {
                    let r = try await client.call(method, path, json: body, token: tokens[caller],
                                                  headers: write ? ["Idempotency-Key": String(repeating: "k", count: 201)] : [:])
                    let what = "\(caller) \(route.method) \(path): \(r.status) \(r.text.prefix(300))"
                    switch Self.allowed(entry.requirement, caller) {
                    case nil: #expect(r.status == 401, "\(what)")
                    case true?: #expect(r.status != 401 && r.status != 403, "\(what)")
                    case false?:
                        #expect(r.status == 403, "\(what)")
                        if write, r.status == 403, let actor = actors[caller] { deniedWrites.append((actor, "\(route.method) \(path)")) }
                    }
                }
            }
            #expect(deniedWrites.count > 50, "the matrix refused writes")
            // Each refused write is one record in the log, and nothing else was appended.
            let appended = try await harness.commandCount() - before
            #expect(appended == Int64(deniedWrites.count), "appended \(appended) for \(deniedWrites.count) refusals")
            var denied: [[String: Any]] = []
            let auditDeadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < auditDeadline {
                let items = (try await client.call(.get, "/v1/audit?limit=10000").json["items"] as? [[String: Any]]) ?? []
                denied = items.filter { $0["outcome"] as? String == "denied" }
                if denied.count >= deniedWrites.count { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let recorded = denied.map { "\($0["actor"] ?? "") \($0["commandType"] ?? "")" }.sorted()
            #expect(recorded == deniedWrites.map { "\($0.actor) \($0.request)" }.sorted())
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }
}
