import AsyncHTTPClient
import Commands
import EventLog
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TestSupport
import Workers

/// The whole Nginx path with real parts: `wharf serve`, two real nginx nodes on loopback (127.0.0.1 and 127.0.0.2,
/// same port) each kept by its own `wharf nginx-agent`, and a real nginx serving three backends.
@Suite(.serialized) struct NginxFleetTests {
    let token = "nginx-fleet-admin-token-0123456789"

    final class Fleet {
        var processes: [Process] = []
        var prefixes: [String] = []
        let nginx: NginxCommandLine
        init() throws {
            guard let nginx = NginxCommandLine.find() else { throw TestEnvironment.Missing(description: "nginx not found: ops/test installs it") }
            self.nginx = nginx
        }
        func prefix(_ name: String) throws -> String {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-nginx-\(name)-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
            prefixes.append(dir)
            return dir
        }
        func stop() {
            // Agents first (signal only), then the nginx they started: those daemons may hold descriptors that make
            // Foundation wait for them before it sees an agent exit.
            for p in processes where p.isRunning { p.terminate() }
            for dir in prefixes { NginxNodeApplier(nginx: nginx, prefix: dir).stop() }
            for p in processes { p.end() }
        }
    }

    /// One nginx answering "main-1", "main-2" and "canary" on three ports.
    func startBackends(_ fleet: Fleet, ports: [Int]) throws {
        let dir = try fleet.prefix("backends")
        let names = ["main-1", "main-2", "canary"]
        let servers = zip(ports, names).map { "    server { listen 127.0.0.1:\($0); location / { return 200 \"\($1)\\n\"; } }" }.joined(separator: "\n")
        let conf = "pid logs/nginx.pid;\nerror_log logs/error.log;\nevents { worker_connections 256; }\nhttp {\n    access_log off;\n\(servers)\n}\n"
        let applier = NginxNodeApplier(nginx: fleet.nginx, prefix: dir)
        guard case .applied = try applier.apply(conf) else { throw TestEnvironment.Missing(description: "backend nginx did not start") }
    }

    func get(_ address: String, _ port: Int, headers: [String: String] = [:]) async throws -> String {
        var request = HTTPClientRequest(url: "http://\(address):\(port)/")
        request.headers.add(name: "Host", value: "shop.example.com")
        // A connection of its own per request: nginx closes kept-alive connections when it reloads, and a request sent
        // on one at that moment fails with "I/O on closed channel" (seen in CI), which says nothing about the routing.
        request.headers.add(name: "Connection", value: "close")
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 4096)
        return String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func shares(_ address: String, _ port: Int, _ count: Int, headers: [String: String] = [:]) async throws -> [String: Int] {
        var seen: [String: Int] = [:]
        for _ in 0..<count { seen[try await get(address, port, headers: headers), default: 0] += 1 }
        return seen
    }

    func api(_ port: Int, _ method: HTTPMethod, _ path: String, _ body: String? = nil, token: String? = nil) async throws -> (Int, [String: Any]) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token ?? self.token)")
        if let body { request.body = .bytes(ByteBuffer(string: body)); request.headers.add(name: "Content-Type", value: "application/json") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:])
    }

    func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for \(what)")
        throw TestEnvironment.Missing(description: "timed out waiting for \(what)")
    }

    func nodes(_ port: Int) async throws -> [String: [String: Any]] {
        let (_, body) = try await api(port, .GET, "/v1/nginx/clusters/edge/nodes")
        var out: [String: [String: Any]] = [:]
        for item in (body["items"] as? [[String: Any]]) ?? [] { out[item["node"] as? String ?? ""] = item }
        return out
    }

    func waitApplied(_ port: Int, version: Int) async throws {
        try await waitUntil("both nodes applied version \(version)") {
            let n = try await nodes(port)
            return n["n1"]?["appliedVersion"] as? Int == version && n["n2"]?["appliedVersion"] as? Int == version
        }
    }

    func site(listen: Int, canary: String? = nil, tls: Bool = false) -> String {
        let canaryJSON = canary.map { #", "canary": \#($0)"# } ?? ""
        let tlsJSON = tls ? #", "tls": {"certificate": "/nonexistent/wharf-test/cert.pem", "key": "/nonexistent/wharf-test/key.pem"}"# : ""
        return #"{"serverNames": ["shop.example.com"], "listen": \#(listen)\#(tlsJSON), "locations": [{"path": "/", "upstream": "web"\#(canaryJSON)}]}"#
    }

    @Test func twoNodesCanaryFailedCheckRollbackAndDrift() async throws {
        let fleet = try Fleet()
        defer { fleet.stop() }
        let backendPorts = [try TestEnvironment.freePort(), try TestEnvironment.freePort(), try TestEnvironment.freePort()]
        try startBackends(fleet, ports: backendPorts)
        let listen = try TestEnvironment.freePort()

        let scratch = try await Database.createScratch(base: try TestEnvironment.postgres(), prefix: "wharf_nginx_fleet", logger: TestEnvironment.logger)
        let url = "postgres://\(scratch.username)@\(scratch.host ?? "127.0.0.1"):\(scratch.port)/\(scratch.database)"
        let port = try TestEnvironment.freePort()
        let dataDirectory = try fleet.prefix("data")
        let server = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dataDirectory)
        defer { server.terminate() }
        try await server.waitUntilHealthy()

        let cluster = #"""
        {"name": "edge", "environment": "prod", "reason": "first cut",
         "nodes": [{"name": "n1", "listenAddress": "127.0.0.1"}, {"name": "n2", "listenAddress": "127.0.0.2"}],
         "upstreams": [{"name": "web", "servers": [{"address": "127.0.0.1:\#(backendPorts[0])"}, {"address": "127.0.0.1:\#(backendPorts[1])", "maxFails": 2, "failTimeoutSeconds": 5}]},
                       {"name": "canary", "servers": [{"address": "127.0.0.1:\#(backendPorts[2])"}]}],
         "sites": [\#(site(listen: listen).dropLast()), "name": "shop"}]}
        """#
        let (created, createdBody) = try await api(port, .POST, "/v1/nginx/clusters", cluster)
        #expect(created == 201, "\(createdBody)")

        for node in ["n1", "n2"] {
            let (status, body) = try await api(port, .POST, "/v1/nginx/clusters/edge/nodes/\(node)/token?after=\(createdBody["position"] as? String ?? "")")
            #expect(status == 201, "\(body)")
            let agent = Process()
            agent.executableURL = URL(fileURLWithPath: try TestEnvironment.wharfBinary())
            agent.arguments = ["nginx-agent", "--cluster", "edge", "--node", node, "--prefix", try fleet.prefix(node), "--interval", "0.2",
                               "--url", "http://127.0.0.1:\(port)", "--token", body["token"] as? String ?? "",
                               // Pinned: only versions signed by the installation's key are applied.
                               "--trusted-key", dataDirectory + "/checkpoint-signing.key.pub"]
            agent.standardOutput = FileHandle.nullDevice
            agent.standardError = FileHandle.nullDevice
            try agent.run()
            fleet.processes.append(agent)
            // The agent token opens only its own node's agent endpoints.
            let (other, _) = try await api(port, .GET, "/v1/nginx/clusters", token: body["token"] as? String)
            #expect(other == 403)
        }
        let n1 = fleet.prefixes[fleet.prefixes.count - 2], n2 = fleet.prefixes[fleet.prefixes.count - 1]

        // Version 1 on both nodes; each node reaches both main backends.
        try await waitApplied(port, version: 1)
        for address in ["127.0.0.1", "127.0.0.2"] {
            let seen = try await shares(address, listen, 20)
            #expect(seen["main-1", default: 0] > 0 && seen["main-2", default: 0] > 0 && seen["canary"] == nil, "\(address): \(seen)")
        }

        // Version 2: a 20 % canary.
        var (status, body) = try await api(port, .PUT, "/v1/nginx/clusters/edge/sites/shop",
                                           site(listen: listen, canary: #"{"upstream": "canary", "weightPercent": 20}"#))
        #expect(status == 200, "\(body)")
        try await waitApplied(port, version: 2)
        let weighted = try await shares("127.0.0.1", listen, 1000)
        let canaryShare = Double(weighted["canary", default: 0]) / 1000
        #expect(canaryShare >= 0.15 && canaryShare <= 0.25, "canary share \(canaryShare): \(weighted)")

        // Version 3: header match only — all matching requests to the canary, none of the others.
        (status, body) = try await api(port, .PUT, "/v1/nginx/clusters/edge/sites/shop",
                                       site(listen: listen, canary: #"{"upstream": "canary", "header": {"name": "X-Canary", "value": "yes"}}"#))
        #expect(status == 200, "\(body)")
        try await waitApplied(port, version: 3)
        #expect(try await shares("127.0.0.2", listen, 100, headers: ["X-Canary": "yes"]) == ["canary": 100])
        #expect(try await shares("127.0.0.2", listen, 100)["canary"] == nil)

        // Version 4: valid input, invalid config (a certificate that does not exist): recorded failed with nginx's message.
        (status, body) = try await api(port, .PUT, "/v1/nginx/clusters/edge/sites/shop", site(listen: listen, tls: true))
        #expect(status == 200, "\(body)")
        var failed: [String: Any] = [:]
        try await waitUntil("version 4 validated") {
            failed = try await api(port, .GET, "/v1/nginx/clusters/edge/versions/4").1
            return failed["status"] as? String != "pending" && failed["status"] != nil
        }
        #expect(failed["status"] as? String == "invalid")
        #expect((failed["message"] as? String ?? "").contains("/nonexistent/wharf-test/cert.pem"), "\(failed["message"] ?? "")")
        try await Task.sleep(for: .milliseconds(800))
        let afterFailure = try await nodes(port)
        #expect(afterFailure["n1"]?["appliedVersion"] as? Int == 3 && afterFailure["n2"]?["appliedVersion"] as? Int == 3)
        #expect(try await shares("127.0.0.1", listen, 20, headers: ["X-Canary": "yes"]) == ["canary": 20], "traffic keeps flowing on version 3")

        // Rollback to version 1: a new version (5) with version 1's exact text, on every node, and its traffic path.
        (status, body) = try await api(port, .POST, "/v1/nginx/clusters/edge/rollback", #"{"version": 1, "reason": "back to basics"}"#)
        #expect(status == 200, "\(body)")
        try await waitApplied(port, version: 5)
        let v1 = try await api(port, .GET, "/v1/nginx/clusters/edge/versions/1").1["text"] as? String ?? "v1"
        let v5 = try await api(port, .GET, "/v1/nginx/clusters/edge/versions/5").1
        #expect(v5["text"] as? String == v1 && v5["rolledBackTo"] as? Int == 1)
        #expect(try String(contentsOfFile: n1 + "/nginx.conf", encoding: .utf8) == NginxRenderer.nodeText(v1, listenAddress: "127.0.0.1"))
        #expect(try String(contentsOfFile: n2 + "/nginx.conf", encoding: .utf8) == NginxRenderer.nodeText(v1, listenAddress: "127.0.0.2"))
        for address in ["127.0.0.1", "127.0.0.2"] {
            let seen = try await shares(address, listen, 20, headers: ["X-Canary": "yes"])
            #expect(seen["main-1", default: 0] > 0 && seen["main-2", default: 0] > 0 && seen["canary"] == nil, "\(address): \(seen)")
        }
        let diff = try await api(port, .GET, "/v1/nginx/clusters/edge/diff?from=1&to=2").1["diff"] as? String ?? ""
        #expect(diff.contains("+    split_clients \"${request_id}\" $wharf_split_shop_0 {") && diff.contains("@@ -"), "\(diff)")

        // Drift: a hand edit of node 2's live file is noticed and reported; node 1 stays in sync.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: n2 + "/nginx.conf"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("# edited by hand at 3 a.m.\n".utf8))
        try handle.close()
        try await waitUntil("drift of n2 reported") { try await nodes(port)["n2"]?["drift"] as? Bool == true }
        let status2 = try await nodes(port)
        #expect(status2["n2"]?["inSync"] as? Bool == false && status2["n1"]?["inSync"] as? Bool == true)
        #expect(status2["n1"]?["drift"] as? Bool == false)

        // Someone with write access to the database publishes a version of their own: the agents refuse it (it
        // carries no signature of the pinned key) and keep running what they had.
        let before = try String(contentsOfFile: n1 + "/nginx.conf", encoding: .utf8)
        let database = try await Database.open(scratch, logger: TestEnvironment.logger)
        try await database.client.query("""
            INSERT INTO wharf_read.nginx_versions (cluster, version, reason, actor, time, text, sha256, diff, status, position, upstreams, sites, signature)
            SELECT cluster, 99, 'evil', 'user:mallory', now(), text || E'\n# injected by mallory\n', sha256, '', 'valid', position, upstreams, sites, signature
              FROM wharf_read.nginx_versions WHERE cluster = 'edge' AND version = 5
            """, logger: TestEnvironment.logger)
        try await database.client.query("UPDATE wharf_read.nginx_clusters SET desired_version = 99 WHERE name = 'edge'", logger: TestEnvironment.logger)
        for prefix in [n1, n2] {
            try await waitUntil("the agent of \(prefix) refuses version 99") {
                let memory = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: prefix + "/wharf-agent.json")))) as? [String: Any]
                return memory?["failedVersion"] as? Int == 99
            }
        }
        #expect(try String(contentsOfFile: n1 + "/nginx.conf", encoding: .utf8) == before, "the forged version was not applied")
        #expect(!(try String(contentsOfFile: n2 + "/nginx.conf", encoding: .utf8)).contains("injected by mallory"))
        await database.close()

        server.terminate()
        try? await Database.dropScratch(scratch, logger: TestEnvironment.logger)
    }
}
