import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

/// Nginx API on a whole in-process Wharf node (real Postgres; the nginx worker runs the real `nginx -t`).
@Suite struct NginxAPITests {
    static let base = #"{"name": "edge", "environment": "test", "upstreams": [{"name": "web", "servers": [{"address": "10.0.0.1:8080"}]}], "sites": [SITE]}"#
    static let site = #"{"name": "shop", "serverNames": ["shop.example.com"], "listen": 8080, "locations": [{"path": "/", "upstream": "web"}]}"#

    /// (what, method, path, body): each must be refused with 422 and append nothing.
    static let injections: [(String, HTTPRequest.Method, String, String)] = {
        func cluster(site: String = site, upstream: String = #"{"address": "10.0.0.1:8080"}"#) -> String {
            base.replacingOccurrences(of: "SITE", with: site).replacingOccurrences(of: #"{"address": "10.0.0.1:8080"}"#, with: upstream)
        }
        func siteWith(_ field: String, _ value: String) -> String {
            site.replacingOccurrences(of: field, with: value)
        }
        func canary(_ json: String) -> String {
            #"{"name": "shop", "serverNames": ["shop.example.com"], "listen": 8080, "locations": [{"path": "/", "upstream": "web", "canary": \#(json)}]}"#
        }
        let put = "/v1/nginx/clusters/edge/sites/shop"
        func putSite(_ json: String) -> String { json.replacingOccurrences(of: #""name": "shop", "#, with: "") }
        return [
            ("server name with ;", .post, "/v1/nginx/clusters", cluster(site: siteWith("shop.example.com", #"shop.example.com; return 200 x"#))),
            ("server name with {", .post, "/v1/nginx/clusters", cluster(site: siteWith("shop.example.com", "a{b"))),
            ("server name with newline", .post, "/v1/nginx/clusters", cluster(site: siteWith("shop.example.com", #"shop.example.com\ninclude /etc/passwd"#))),
            ("server name with $", .post, "/v1/nginx/clusters", cluster(site: siteWith("shop.example.com", "$host"))),
            ("server name with #", .post, "/v1/nginx/clusters", cluster(site: siteWith("shop.example.com", "shop#x"))),
            ("server name with quote", .post, "/v1/nginx/clusters", cluster(site: siteWith("shop.example.com", #"shop\"x"#))),
            ("path with ;", .put, put, putSite(siteWith(#""path": "/""#, #""path": "/a; deny all""#))),
            ("path with }", .put, put, putSite(siteWith(#""path": "/""#, #""path": "/a}""#))),
            ("path with $", .put, put, putSite(siteWith(#""path": "/""#, #""path": "/$uri""#))),
            ("path with space", .put, put, putSite(siteWith(#""path": "/""#, #""path": "/a b""#))),
            ("path with quote", .put, put, putSite(siteWith(#""path": "/""#, #""path": "/a'b""#))),
            ("path not starting with /", .put, put, putSite(siteWith(#""path": "/""#, #""path": "~ .*""#))),
            ("header name with :", .put, put, putSite(canary(#"{"upstream": "web2", "header": {"name": "X-A: b", "value": "yes"}}"#))),
            ("header value with \"", .put, put, putSite(canary(#"{"upstream": "web2", "header": {"name": "X-Canary", "value": "yes\" default x; #"}}"#))),
            ("header value with $", .put, put, putSite(canary(#"{"upstream": "web2", "header": {"name": "X-Canary", "value": "$remote_addr"}}"#))),
            ("header value with newline", .put, put, putSite(canary(#"{"upstream": "web2", "header": {"name": "X-Canary", "value": "a\nb"}}"#))),
            ("header value as regex", .put, put, putSite(canary(#"{"upstream": "web2", "header": {"name": "X-Canary", "value": "~.*"}}"#))),
            ("cookie name with -", .put, put, putSite(canary(#"{"upstream": "web2", "cookie": {"name": "a-b", "value": "1"}}"#))),
            ("cookie value with ;", .put, put, putSite(canary(#"{"upstream": "web2", "cookie": {"name": "beta", "value": "1; x"}}"#))),
            ("cookie value with }", .put, put, putSite(canary(#"{"upstream": "web2", "cookie": {"name": "beta", "value": "1}"}}"#))),
            ("address with ;", .post, "/v1/nginx/clusters", cluster(upstream: #"{"address": "10.0.0.1:80; server evil:80"}"#)),
            ("address without port", .post, "/v1/nginx/clusters", cluster(upstream: #"{"address": "10.0.0.1"}"#)),
            ("address with $", .post, "/v1/nginx/clusters", cluster(upstream: #"{"address": "$host:80"}"#)),
            ("address with #", .post, "/v1/nginx/clusters", cluster(upstream: #"{"address": "a#b:80"}"#)),
            ("address port out of range", .post, "/v1/nginx/clusters", cluster(upstream: #"{"address": "10.0.0.1:70000"}"#)),
            ("address and service both", .post, "/v1/nginx/clusters", cluster(upstream: #"{"address": "10.0.0.1:80", "service": "shop"}"#)),
            ("certificate path traversal", .put, put, putSite(siteWith(#""listen": 8080"#, #""listen": 8443, "tls": {"certificate": "/etc/ssl/../../root/x.pem", "key": "/k.pem"}"#))),
            ("certificate path with ;", .put, put, putSite(siteWith(#""listen": 8080"#, #""listen": 8443, "tls": {"certificate": "/c.pem; include /x", "key": "/k.pem"}"#))),
            ("listen address with ;", .post, "/v1/nginx/clusters/edge/nodes", #"{"name": "n3", "listenAddress": "127.0.0.1; listen 80"}"#),
            ("service addresses with ;", .put, "/v1/services/shop/addresses", #"{"addresses": ["10.0.0.1:80; evil"]}"#),
            ("test domain with $", .post, "/v1/nginx/clusters", base.replacingOccurrences(of: "SITE", with: site)
                .replacingOccurrences(of: #""environment": "test","#, with: #""environment": "test", "testDomain": {"wildcard": "$host.example.com", "listen": 80},"#)),
        ]
    }()

    @Test func injectionStringsAreRefusedWith422AndAppendNothing() async throws {
        try await ServerHarness.with { harness, client in
            // A cluster to edit, with a second upstream for canaries.
            let created = try await client.call(.post, "/v1/nginx/clusters", json: Self.base.replacingOccurrences(of: "SITE", with: Self.site)
                .replacingOccurrences(of: #"}]}], "#, with: #"}]}, {"name": "web2", "servers": [{"address": "10.0.0.2:8080"}]}], "#))
            #expect(created.status == 201, "\(created.text)")
            // The nginx worker reports its check of version 1 as a command; let it land before counting.
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline,
                  try await client.call(.get, "/v1/nginx/clusters/edge/versions/1").json["status"] as? String ?? "pending" == "pending" {
                try await Task.sleep(for: .milliseconds(50))
            }
            let before = try await harness.commandCount()
            for (what, method, path, body) in Self.injections {
                let response = try await client.call(method, path, json: body)
                #expect(response.status == 422, "\(what): \(response.status) \(response.text)")
            }
            #expect(Self.injections.count >= 20)
            #expect(try await harness.commandCount() == before, "nothing appended")
        }
    }

    /// nginx would resolve a host name with blocking DNS during `nginx -t` and every reload: refused at the door with
    /// 422, the field named, nothing appended.
    @Test func hostNameAddressesAreRefusedWith422NamingTheField() async throws {
        try await ServerHarness.with { harness, client in
            let before = try await harness.commandCount()
            let cluster = Self.base.replacingOccurrences(of: "SITE", with: Self.site).replacingOccurrences(of: "10.0.0.1:8080", with: "app-vm.example.com:8080")
            for (method, path, body, field) in [
                (HTTPRequest.Method.post, "/v1/nginx/clusters", cluster, "upstreams[0].servers[0].address"),
                (.put, "/v1/services/shop/addresses", #"{"addresses": ["10.0.0.1:80", "shop-1.internal:80"]}"#, "addresses[1]"),
            ] {
                let response = try await client.call(method, path, json: body)
                #expect(response.status == 422, "\(path): \(response.status) \(response.text)")
                #expect(response.json["field"] as? String == field, "\(response.text)")
                #expect((response.json["error"] as? String)?.contains("host names are refused") == true, "\(response.text)")
            }
            #expect(try await harness.commandCount() == before, "nothing appended")
        }
    }

    @Test func upstreamsFollowServiceScaleUpgradeAndDestroy() async throws {
        try await ServerHarness.with { harness, client in
            func ok(_ r: (status: Int, json: [String: Any], text: String), _ what: String) { #expect((200..<300).contains(r.status), "\(what): \(r.text)") }
            ok(try await client.call(.post, "/v1/services", json: #"{"name": "cart", "businessLine": "shop", "image": "registry.example.com/cart:1", "replicas": 2}"#), "create service")
            ok(try await client.call(.put, "/v1/services/cart/addresses", json: #"{"addresses": ["10.1.0.1:8080", "10.1.0.2:8080", "10.1.0.3:8080"]}"#), "addresses")
            let cluster = #"""
            {"name": "edge", "environment": "test", "testDomain": {"wildcard": "test.example.com", "listen": 8080},
             "upstreams": [{"name": "cart", "servers": [{"service": "cart"}, {"address": "192.168.7.7:80", "backup": true}]}],
             "sites": [{"name": "cart", "serverNames": ["cart.example.com"], "listen": 8080, "locations": [{"path": "/", "upstream": "cart"}]}]}
            """#
            ok(try await client.call(.post, "/v1/nginx/clusters", json: cluster), "create cluster")

            func latestText() async throws -> String {
                let versions = try await client.call(.get, "/v1/nginx/clusters/edge/versions")
                let last = ((versions.json["items"] as? [[String: Any]]) ?? []).compactMap { $0["version"] as? Int }.max() ?? 0
                return try await client.call(.get, "/v1/nginx/clusters/edge/versions/\(last)").json["text"] as? String ?? ""
            }
            func waitFor(_ what: String, _ condition: (String) -> Bool) async throws {
                let deadline = ContinuousClock.now + .seconds(20)
                var text = ""
                while ContinuousClock.now < deadline {
                    text = try await latestText()
                    if condition(text) { return }
                    try await Task.sleep(for: .milliseconds(100))
                }
                Issue.record("\(what); latest text:\n\(text)")
            }
            try await waitFor("two live members of cart") { t in
                t.contains("server 10.1.0.1:8080;") && t.contains("server 10.1.0.2:8080;") && !t.contains("10.1.0.3") && t.contains("server 192.168.7.7:80 backup;")
                    && t.contains("server_name cart.test.example.com;")
            }
            ok(try await client.call(.post, "/v1/services/cart/scale", json: #"{"replicas": 3}"#), "scale")
            try await waitFor("three live members after scaling") { $0.contains("server 10.1.0.3:8080;") }
            ok(try await client.call(.post, "/v1/services/cart/upgrade", json: #"{"image": "registry.example.com/cart:2"}"#), "upgrade")
            try await waitFor("revision 2 after the upgrade") { $0.contains("# service cart: revision 2, registry.example.com/cart:2, 3 live members") }
            ok(try await client.call(.delete, "/v1/services/cart"), "destroy")
            try await waitFor("no live members after destroy") { t in
                t.contains("# service cart: no live members") && !t.contains("10.1.0.") && !t.contains("cart.test.example.com")
            }
            // Every version passed the real nginx -t.
            let deadline = ContinuousClock.now + .seconds(20)
            var statuses: [String] = []
            while ContinuousClock.now < deadline {
                let items = (try await client.call(.get, "/v1/nginx/clusters/edge/versions").json["items"] as? [[String: Any]]) ?? []
                statuses = items.compactMap { "\($0["status"] ?? "")" + ($0["status"] as? String == "invalid" ? ": \($0["message"] ?? "")" : "") }
                if !statuses.contains("pending") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(statuses.count >= 5 && statuses.allSatisfy { $0 == "valid" }, "\(statuses)")
            _ = harness
        }
    }

    /// A rollback past the versions the decider keeps whole: the API sends the content from the read model and the
    /// decider accepts it only because it hashes to what it recorded, for a config using most optional fields.
    @Test func rollbackToAnOldVersionCarriesItsContentFromTheReadModel() async throws {
        try await ServerHarness.with { harness, client in
            func ok(_ r: (status: Int, json: [String: Any], text: String), _ what: String) { #expect((200..<300).contains(r.status), "\(what): \(r.text)") }
            let cluster = #"""
            {"name": "edge", "environment": "prod",
             "upstreams": [{"name": "web", "servers": [{"address": "10.0.0.1:8080", "weight": 3, "maxFails": 2, "failTimeoutSeconds": 5},
                                                       {"address": "10.0.0.2:8080", "backup": true}, {"address": "10.0.0.3:8080", "down": true}]},
                           {"name": "web2", "servers": [{"address": "10.0.1.1:8080"}]}],
             "sites": [{"name": "shop", "serverNames": ["shop.example.com"], "listen": 8080,
                        "locations": [{"path": "/", "upstream": "web", "canary": {"upstream": "web2", "weightPercent": 10,
                                                                                  "header": {"name": "X-Canary", "value": "yes"}}},
                                      {"path": "/api", "upstream": "web2"}]}]}
            """#
            ok(try await client.call(.post, "/v1/nginx/clusters", json: cluster), "create cluster")
            let versions = 20
            for n in 2...versions {
                ok(try await client.call(.put, "/v1/nginx/clusters/edge/upstreams/web2", json: #"{"servers": [{"address": "10.0.1.\#(n):8080"}]}"#), "put \(n)")
            }
            func items() async throws -> [[String: Any]] {
                (try await client.call(.get, "/v1/nginx/clusters/edge/versions").json["items"] as? [[String: Any]]) ?? []
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while try await items().count < versions, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(try await items().count == versions)

            let rollback = try await client.call(.post, "/v1/nginx/clusters/edge/rollback", json: #"{"version": 1, "reason": "back to the start"}"#)
            ok(rollback, "rollback to version 1")
            while try await items().count < versions + 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            let first = try await client.call(.get, "/v1/nginx/clusters/edge/versions/1").json["text"] as? String
            let latest = try await client.call(.get, "/v1/nginx/clusters/edge/versions/\(versions + 1)").json
            #expect(first != nil && latest["text"] as? String == first && latest["rolledBackTo"] as? Int == 1)
            let detail = try await client.call(.get, "/v1/nginx/clusters/edge").json
            let web2 = (detail["upstreams"] as? [[String: Any]])?.first { $0["name"] as? String == "web2" }
            #expect(((web2?["servers"] as? [[String: Any]])?.first?["address"] as? String) == "10.0.1.1:8080", "version 1's upstreams are back")
            _ = harness
        }
    }

    /// A node agent's token dies with its node: removing the node refuses the token (within the 0.5 s token cache).
    @Test func anAgentTokenDiesWithItsNode() async throws {
        try await ServerHarness.with { harness, client in
            let cluster = Self.base.replacingOccurrences(of: "SITE", with: Self.site)
                .replacingOccurrences(of: #""environment": "test", "#, with: #""environment": "test", "nodes": [{"name": "n1"}, {"name": "n2"}], "#)
            let created = try await client.call(.post, "/v1/nginx/clusters", json: cluster)
            #expect(created.status == 201, "\(created.text)")
            let issued = try await client.call(.post, "/v1/nginx/clusters/edge/nodes/n1/token?after=\(created.json["position"] as? String ?? "")")
            let token = try #require(issued.json["token"] as? String, "\(issued.text)")
            let desired = "/v1/nginx/agent/clusters/edge/nodes/n1/desired"
            #expect(![401, 403].contains(try await client.call(.get, desired, token: token).status), "the agent may pull while its node exists")
            let removed = try await client.call(.delete, "/v1/nginx/clusters/edge/nodes/n1")
            #expect(removed.status == 200, "\(removed.text)")
            let deadline = ContinuousClock.now + .seconds(5)
            var status = 0
            while ContinuousClock.now < deadline {
                status = try await client.call(.get, desired, token: token).status
                if status == 401 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let last = try await client.call(.get, desired, token: token)
            #expect(status == 401 && last.text.contains("node of this agent token was removed"), "\(last.text)")
            _ = harness
        }
    }
}
