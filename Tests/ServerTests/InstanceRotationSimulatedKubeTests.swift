import Foundation
import Testing
import TestSupport
import Workers

/// One pod out of the load balancer and back, against the project's simulated Kubernetes API (`ops/kube-sim`; no
/// real API server can run here): the pod keeps running while its IP leaves the service's live members (what the
/// Nginx upstreams follow); back in, it returns. A repeat changes nothing (200, unchanged), a pod that is not running a 404, a bad pod name
/// a 422 naming `pod`.
@Suite struct InstanceRotationSimulatedKubeTests {
    @Test(.timeLimit(.minutes(3))) func aPodOutOfRotationLeavesTheMembersAndComesBack() async throws {
        let sim = try KubeSimulator(readyDelay: 0.3, podNetwork: "10.71")
        defer { sim.stop() }
        let kube = try KubernetesClient(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token)
        defer { Task { await kube.shutdown() } }
        try await ServerHarness.with { harness, client in
            let line = try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "Payments"}"#)
            let created = try await client.call(.post, "/v1/services?after=\(line.json["position"] as? String ?? "")", json: """
                {"name": "pay-api", "businessLine": "pay", "image": "registry.example.com/pay/api:1.0", "replicas": 2, "ports": [{"containerPort": 8080}]}
                """)
            #expect(created.status == 201, "\(created.text)")
            let r = try await client.call(.post, "/v1/clusters", json: ClusterRegistrationSimulatedKubeTests.body(
                name: "a", apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token))
            #expect(r.status == 201, "\(r.text)")
            let wait = Eventually(seconds: 60)
            func pods() async throws -> Set<String> {
                var out: Set<String> = []
                for pod in try await kube.getJSON("/api/v1/namespaces/pay/pods?labelSelector=wharf.dev%2Fservice%3Dpay-api")["items"] as? [[String: Any]] ?? [] {
                    let status = pod["status"] as? [String: Any]
                    let ready = (status?["conditions"] as? [[String: Any]] ?? []).contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" }
                    if ready, let ip = status?["podIP"] as? String { out.insert("\(ip):8080") }
                }
                return out
            }
            func members() async throws -> Set<String> { Set(try await client.call(.get, "/v1/services/pay-api").json["addresses"] as? [String] ?? []) }

            try await wait.until("a healthy") { try await client.call(.get, "/v1/clusters/a").json["healthy"] as? Bool == true }
            #expect(try await client.call(.put, "/v1/services/pay-api/placement", json: #"{"clusters": ["a"], "division": "aggregated"}"#).status == 200)
            var running: [[String: Any]] = []
            try await wait.until("2 ready pods, the members, as the instances say") {
                let (p, m) = (try await pods(), try await members())
                running = try await client.call(.get, "/v1/services/pay-api/instances").json["items"] as? [[String: Any]] ?? []
                wait.seen = "pods \(p.sorted()), members \(m.sorted()), instances \(running.count)"
                return p.count == 2 && m == p && running.count == 2
            }
            let target = try #require(running.first)
            let (pod, ip) = (target["pod"] as! String, "\(target["ip"] as! String):8080")
            let out = try await client.call(.post, "/v1/services/pay-api/instances/a/\(pod)/rotation", json: #"{"inRotation": false}"#)
            #expect(out.status == 200, "\(out.text)")
            try await wait.until("\(pod) out of the members, still running") {
                let (p, m) = (try await pods(), try await members())
                wait.seen = "pods \(p.sorted()), members \(m.sorted()), out \(ip)"
                return p.contains(ip) && m == p.subtracting([ip])
            }
            let before = try await harness.callerCommandCount()
            let again = try await client.call(.post, "/v1/services/pay-api/instances/a/\(pod)/rotation", json: #"{"inRotation": false}"#)
            #expect(again.status == 200 && again.json["outcome"] as? String == "unchanged", "out already: \(again.text)")
            #expect(try await client.call(.post, "/v1/services/pay-api/instances/a/pay-api-nope/rotation", json: #"{"inRotation": false}"#).status == 404)
            let badPod = try await client.call(.post, "/v1/services/pay-api/instances/a/Bad_Pod/rotation", json: #"{"inRotation": false}"#)
            #expect(badPod.status == 422 && badPod.json["field"] as? String == "pod", "\(badPod.text)")
            #expect(try await client.call(.post, "/v1/services/pay-api/instances/a/\(pod)/rotation", json: #"{"inRotation": "no"}"#).status == 422)
            #expect(try await harness.callerCommandCount() == before + 2, "the repeat and the 404 are decided (in the audit); the 422s append nothing")
            #expect(try await client.call(.post, "/v1/services/pay-api/instances/a/\(pod)/rotation", json: #"{"inRotation": true}"#).status == 200)
            try await wait.until("\(pod) back in the members") {
                let (p, m) = (try await pods(), try await members())
                wait.seen = "pods \(p.sorted()), members \(m.sorted())"
                return p.count == 2 && m == p
            }
        }
    }
}
