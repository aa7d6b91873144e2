import Foundation
import Testing
import TestSupport

/// Failover without a gap, over three clusters of the project's simulated Kubernetes API (`ops/kube-sim`; no real
/// API server can run here), through the real API, health monitor, placement scheduler and cluster worker at
/// production parameters (health every 5 s, 30 s grace). While c's API is down and after it returns, a watcher reads
/// the service's live members (what the Nginx upstreams follow) every 100 ms: they never drop below the replicas
/// (the Deployments roll with maxUnavailable 0, so the surge allowance takes nothing away). c's members leave only
/// once a and b have their new shares ready; when c is back, a and b shrink only once c's share is ready again.
@Suite struct FailoverSimulatedKubeTests {
    @Test(.timeLimit(.minutes(4))) func aFailedClustersShareMovesWithoutAGapAndComesBack() async throws {
        let sims = try ["a": "10.51", "b": "10.52", "c": "10.53"].mapValues { try KubeSimulator(readyDelay: 0.5, podNetwork: $0) }
        defer { sims.values.forEach { $0.stop() } }
        try await ServerHarness.with { harness, client in
            let line = try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "Payments"}"#)
            let created = try await client.call(.post, "/v1/services?after=\(line.json["position"] as? String ?? "")", json: """
                {"name": "pay-api", "businessLine": "pay", "image": "registry.example.com/pay/api:1.0", "replicas": 6, "ports": [{"containerPort": 8080}]}
                """)
            #expect(created.status == 201, "\(created.text)")
            for (name, sim) in sims.sorted(by: { $0.key < $1.key }) {
                let r = try await client.call(.post, "/v1/clusters", json: ClusterRegistrationSimulatedKubeTests.body(
                    name: name, apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token))
                #expect(r.status == 201, "\(r.text)")
            }
            let wait = Eventually(seconds: 60)
            func members() async throws -> [String] { try await client.call(.get, "/v1/services/pay-api").json["addresses"] as? [String] ?? [] }
            func placement() async throws -> (split: [String: Int], settled: Bool) {
                let p = try await client.call(.get, "/v1/services/pay-api/placement").json
                let clusters = p["clusters"] as? [[String: Any]] ?? []
                return (Dictionary(uniqueKeysWithValues: clusters.compactMap { c in
                    (c["replicas"] as? Int).flatMap { $0 > 0 ? (c["cluster"] as! String, $0) : nil }
                }), p["settled"] as? Bool == true)
            }

            try await wait.until("three healthy clusters") {
                let items = try await client.call(.get, "/v1/clusters").json["items"] as? [[String: Any]] ?? []
                return items.count == 3 && items.allSatisfy { $0["healthy"] as? Bool == true }
            }
            #expect(try await client.call(.put, "/v1/services/pay-api/placement", json: #"{"clusters": ["a", "b", "c"], "division": "static-weight"}"#).status == 200)
            try await wait.until("2 ready members in each cluster") {
                let (m, p) = (try await members(), try await placement())
                return m.count == 6 && p.split == ["a": 2, "b": 2, "c": 2] && p.settled
                    && ["10.51", "10.52", "10.53"].allSatisfy { n in m.filter { $0.hasPrefix(n + ".") }.count == 2 }
            }

            // From here on, the members are read every 100 ms.
            let start = ContinuousClock.now
            let watcher = Task { () -> (fewest: Int, samples: Int, changes: [String], seen: [[String]]) in
                var fewest = Int.max, samples = 0, changes: [String] = [], last: [String] = [], seen: [[String]] = []
                while !Task.isCancelled {
                    if let m = try? await members() {
                        samples += 1
                        fewest = min(fewest, m.count)
                        if m != last { changes.append("\(ContinuousClock.now - start): \(m.sorted())"); seen.append(m); last = m }
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return (fewest, samples, changes, seen)
            }

            try sims["c"]!.fault("down")
            try await wait.until("c's share moved to a and b", seconds: 90) { try await placement().split == ["a": 3, "b": 3] }
            try await wait.until("the move settled: a's and b's 3 each are the members, c's left") {
                let (m, p) = (try await members(), try await placement())
                return p.settled && m.count == 6 && m.filter { $0.hasPrefix("10.53.") }.isEmpty
            }
            try await wait.until("c's pods left the service in its history") {
                let history = try await client.call(.get, "/v1/services/pay-api/history").json["items"] as? [[String: Any]] ?? []
                return history.filter { $0["cluster"] as? String == "c" && $0["goneAt"] != nil }.count == 2
            }

            try sims["c"]!.fault("clear")
            try await wait.until("c is back with its share, and a and b shrank", seconds: 90) {
                let (m, p) = (try await members(), try await placement())
                return p.split == ["a": 2, "b": 2, "c": 2] && p.settled && m.count == 6
                    && ["10.51", "10.52", "10.53"].allSatisfy { n in m.filter { $0.hasPrefix(n + ".") }.count == 2 }
            }
            watcher.cancel()
            let watched = await watcher.value
            print("FailoverSimulatedKubeTests: \(watched.samples) reads of the members; every change:\n  \(watched.changes.joined(separator: "\n  "))")
            #expect(watched.samples > 50, "the watcher read the members \(watched.samples) times")
            // c's members left only together with or after a's and b's third replicas joined.
            let withoutC = try #require(watched.seen.first { m in !m.contains { $0.hasPrefix("10.53.") } }, "c's members never left")
            #expect(withoutC.filter { $0.hasPrefix("10.51.") }.count == 3 && withoutC.filter { $0.hasPrefix("10.52.") }.count == 3,
                    "c's members left before their replacements were ready: \(withoutC)")
            #expect(watched.fewest >= 6, "the service had \(watched.fewest) live members at one point: \(watched.changes.joined(separator: "\n"))")

            let instances = try await client.call(.get, "/v1/services/pay-api/instances").json["items"] as? [[String: Any]] ?? []
            #expect(instances.count == 6 && instances.allSatisfy { $0["ready"] as? Bool == true && $0["ip"] != nil && $0["node"] != nil }, "\(instances)")
            let after = try await client.call(.get, "/v1/services/pay-api/history?limit=1000").json["items"] as? [[String: Any]] ?? []
            #expect(after.count >= 8 && after.filter { $0["goneAt"] == nil }.count == 6, "every pod seen, 6 of them running: \(after)")
            #expect(try await client.call(.get, "/v1/services/pay-api/history?limit=0").status == 400)
            #expect(try await client.call(.get, "/v1/services/ghost/instances").status == 404)
        }
    }
}
