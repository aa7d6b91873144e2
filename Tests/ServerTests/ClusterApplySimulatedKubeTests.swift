import Events
import Foundation
@testable import Projections
import Testing
import TestSupport
import Workers

/// The cluster worker applies what placements give each cluster, against the project's simulated Kubernetes API
/// (`ops/kube-sim`; no real API server can run here): objects by server-side apply (field manager wharf), pods
/// scheduled and ready per cluster as divided, an upgrade rolls with the revision in the annotations (and its rollout
/// is recorded), a rollback rolls back, a cluster that loses its share and a destroyed service are pruned, and a
/// steady fleet makes no writes. The rendered objects validate with `kubernetes-validate --strict` against Kubernetes 1.29 and 1.33.
@Suite struct ClusterApplySimulatedKubeTests {
    static let service = ServiceView(name: "pay-api", businessLine: "pay", image: "registry.example.com/pay/api:1.0", replicas: 3, revision: 2,
                                     status: "active", env: ["MODE": "prod", "LOG_LEVEL": "info"], secretEnv: [:],
                                     ports: [ServicePort(name: "http", containerPort: 8080), ServicePort(containerPort: 5353, protocol: "UDP")],
                                     healthCheck: HealthCheck(path: "/healthz", port: 8080), domain: nil, addresses: [],
                                     createdAt: "2026-12-03T00:00:00.000Z", createdBy: "user:admin", updatedAt: "2026-12-03T00:00:00.000Z",
                                     updatedBy: "user:admin", position: "3:17")

    @Test func renderedObjectsValidateStrictlyAgainstKubernetes129And133() throws {
        let objects = try ServiceObjects.render(Self.service, replicas: 3, placement: ServicePlacement(clusters: ["a"], division: .aggregated,
                                                                                                      replicaCPUMillis: 250), position: "3:17")
        #expect(objects.map(\.kind) == ["Namespace", "Deployment", "Service"])
        // With secret env: a Secret (before the Deployment, which references it) validates too.
        let withSecrets = try ServiceObjects.render(Self.service, replicas: 3, placement: ServicePlacement(clusters: ["a"], division: .aggregated),
                                                    position: "3:17", secretEnv: ["DB_PASSWORD": "s3cret"])
        #expect(withSecrets.map(\.kind) == ["Namespace", "Secret", "Deployment", "Service"])
        #expect(!withSecrets[2].body.contains("s3cret") && withSecrets[1].body.contains(Data("s3cret".utf8).base64EncodedString()))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-k8s-validate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var files: [String] = []
        for object in objects + [withSecrets[1], withSecrets[2]] {
            let file = dir.appendingPathComponent("\(object.kind)-\(files.count).json")
            try object.body.write(to: file, atomically: true, encoding: .utf8)
            files.append(file.path)
        }
        for version in ["1.29.0", "1.33.0"] {
            let r = try ExternalTool.run(["python3", "-m", "kubernetes_validate", "-k", version, "--strict"] + files)
            #expect(r.status == 0, "kubernetes-validate \(version): \(r.output)")
        }
        // The check can fail: a field the API does not know is refused under --strict.
        let bad = dir.appendingPathComponent("bad.json")
        try objects[1].body.replacingOccurrences(of: #""replicas":3"#, with: #""replicas":3,"replikas":1"#).write(to: bad, atomically: true, encoding: .utf8)
        #expect(try ExternalTool.run(["python3", "-m", "kubernetes_validate", "-k", "1.33.0", "--strict", bad.path]).status != 0)
    }

    @Test(.timeLimit(.minutes(4))) func placedServicesRunWhereTheyAreDividedAndArePrunedWhereTheyAreNot() async throws {
        let simA = try KubeSimulator(readyDelay: 0.3, podNetwork: "10.41"), simB = try KubeSimulator(readyDelay: 0.3, podNetwork: "10.42")
        defer { simA.stop(); simB.stop() }
        let kubeA = try KubernetesClient(apiServer: simA.apiServer, caBundle: simA.caBundle, token: simA.token)
        let kubeB = try KubernetesClient(apiServer: simB.apiServer, caBundle: simB.caBundle, token: simB.token)
        defer { Task { await kubeA.shutdown(); await kubeB.shutdown() } }
        try await ServerHarness.with { harness, client in
            let line = try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "Payments"}"#)
            let created = try await client.call(.post, "/v1/services?after=\(line.json["position"] as? String ?? "")", json: """
                {"name": "pay-api", "businessLine": "pay", "image": "registry.example.com/pay/api:1.0", "replicas": 4, "env": {"MODE": "prod"},
                 "ports": [{"containerPort": 8080}], "healthCheck": {"path": "/healthz", "port": 8080}}
                """)
            #expect(created.status == 201, "\(created.text)")
            for (name, sim) in [("a", simA), ("b", simB)] {
                let r = try await client.call(.post, "/v1/clusters", json: ClusterRegistrationSimulatedKubeTests.body(
                    name: name, apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token))
                #expect(r.status == 201, "\(r.text)")
            }
            let wait = Eventually(seconds: 60)
            func deployment(_ kube: KubernetesClient) async throws -> [String: Any] {
                try await kube.getJSON("/apis/apps/v1/namespaces/pay/deployments/pay-api")
            }
            func ready(_ kube: KubernetesClient) async throws -> Int {
                (try await deployment(kube)["status"] as? [String: Any])?["readyReplicas"] as? Int ?? 0
            }
            func image(_ kube: KubernetesClient) async throws -> String? {
                let spec = (try await deployment(kube)["spec"] as? [String: Any])?["template"] as? [String: Any]
                return ((spec?["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?.first?["image"] as? String
            }
            func gone(_ kube: KubernetesClient) async -> Bool {
                do { _ = try await deployment(kube); return false } catch let f as KubernetesClient.Failure { return f.status == 404 } catch { return false }
            }

            try await wait.until("both clusters healthy") {
                let items = try await client.call(.get, "/v1/clusters").json["items"] as? [[String: Any]] ?? []
                return items.count == 2 && items.allSatisfy { $0["healthy"] as? Bool == true }
            }
            let placed = try await client.call(.put, "/v1/services/pay-api/placement",
                                               json: #"{"clusters": ["a", "b"], "division": "static-weight", "weights": {"a": 3, "b": 1}}"#)
            #expect(placed.status == 200, "\(placed.text)")
            try await wait.until("3 ready in a, 1 in b") {
                let (a, b) = (try await ready(kubeA), try await ready(kubeB))
                return a == 3 && b == 1
            }
            // The ready pods' IPs, from both clusters, become the service's live members (what Nginx upstreams follow).
            func podAddresses(_ kubes: [KubernetesClient]) async throws -> Set<String> {
                var out: Set<String> = []
                for kube in kubes {
                    for pod in try await kube.getJSON("/api/v1/namespaces/pay/pods?labelSelector=wharf.dev%2Fservice%3Dpay-api")["items"] as? [[String: Any]] ?? [] {
                        let status = pod["status"] as? [String: Any]
                        let ready = (status?["conditions"] as? [[String: Any]] ?? []).contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" }
                        if ready, let ip = status?["podIP"] as? String { out.insert("\(ip):8080") }
                    }
                }
                return out
            }
            func members() async throws -> Set<String> {
                Set(try await client.call(.get, "/v1/services/pay-api").json["addresses"] as? [String] ?? [])
            }
            try await wait.until("the members are the 4 ready pods of both clusters") {
                let (pods, live) = (try await podAddresses([kubeA, kubeB]), try await members())
                return pods.count == 4 && live == pods
            }
            let applied = try await deployment(kubeA)
            let metadata = applied["metadata"] as? [String: Any] ?? [:]
            #expect((metadata["annotations"] as? [String: String])?["wharf.dev/revision"] == "1", "\(metadata)")
            #expect((metadata["managedFields"] as? [[String: Any]])?.contains { $0["manager"] as? String == "wharf" && $0["operation"] as? String == "Apply" } == true,
                    "applied by server-side apply as field manager wharf: \(metadata)")
            let kubeService = try await kubeA.getJSON("/api/v1/namespaces/pay/services/pay-api")
            #expect(kubeService["spec"] != nil)

            // Steady: a full resync of unchanged services writes nothing.
            try await Task.sleep(for: .seconds(2))
            let steady = (try simA.stats()["writes"] as? [String: Int]) ?? [:]
            try await Task.sleep(for: .seconds(4))
            let later = (try simA.stats()["writes"] as? [String: Int]) ?? [:]
            #expect(later == steady, "an unchanged fleet made writes")

            // An upgrade rolls: the template's image and revision change in both clusters.
            let upgraded = try await client.call(.post, "/v1/services/pay-api/upgrade", json: #"{"image": "registry.example.com/pay/api:1.1"}"#)
            #expect(upgraded.status == 200, "\(upgraded.text)")
            try await wait.until("upgraded everywhere") {
                let (a, b, readyA) = (try await image(kubeA), try await image(kubeB), try await ready(kubeA))
                return a == "registry.example.com/pay/api:1.1" && b == "registry.example.com/pay/api:1.1" && readyA == 3
            }
            try await wait.until("the rollout of revision 2 recorded complete in both clusters") {
                let items = try await client.call(.get, "/v1/services/pay-api/rollout").json["items"] as? [[String: Any]] ?? []
                return items.map { $0["cluster"] as? String ?? "" } == ["a", "b"]
                    && items.allSatisfy { $0["revision"] as? Int == 2 && $0["complete"] as? Bool == true && $0["updated"] as? Int == $0["replicas"] as? Int }
            }
            let rolled = try await deployment(kubeA)
            #expect(((rolled["metadata"] as? [String: Any])?["annotations"] as? [String: String])?["wharf.dev/revision"] == "2", "\(rolled)")

            // A rollback is a new revision with the old template: it rolls again, back to the first image.
            let rolledBack = try await client.call(.post, "/v1/services/pay-api/rollback", json: #"{"revision": 1}"#)
            #expect(rolledBack.status == 200, "\(rolledBack.text)")
            try await wait.until("rolled back everywhere, revision 3") {
                let (a, b) = (try await image(kubeA), try await image(kubeB))
                let items = try await client.call(.get, "/v1/services/pay-api/rollout").json["items"] as? [[String: Any]] ?? []
                return a == "registry.example.com/pay/api:1.0" && b == "registry.example.com/pay/api:1.0"
                    && items.count == 2 && items.allSatisfy { $0["revision"] as? Int == 3 && $0["complete"] as? Bool == true }
            }

            // b loses its share: pruned there, a holds all four.
            let moved = try await client.call(.put, "/v1/services/pay-api/placement", json: #"{"clusters": ["a"], "division": "aggregated"}"#)
            #expect(moved.status == 200, "\(moved.text)")
            try await wait.until("b pruned, 4 in a") {
                let (pruned, readyA) = (await gone(kubeB), try await ready(kubeA))
                return pruned && readyA == 4
            }
            try await wait.until("the members are a's 4 pods only") {
                let (pods, live) = (try await podAddresses([kubeA]), try await members())
                return pods.count == 4 && live == pods
            }
            let audit = try await client.call(.get, "/v1/audit?aggregate=service/pay-api&limit=1000")
            let observed = (audit.json["items"] as? [[String: Any]] ?? []).filter { $0["commandType"] as? String == "RecordServiceInstances" }
            #expect(!observed.isEmpty && observed.allSatisfy { $0["actor"] as? String == "system:cluster" }, "\(observed.prefix(3))")
            let rollouts = (audit.json["items"] as? [[String: Any]] ?? []).filter { $0["commandType"] as? String == "RecordServiceRollout" && $0["outcome"] as? String == "accepted" }
            #expect(rollouts.count >= 4, "every rollout's steps are in the log, per cluster: \(rollouts.count)")

            // Destroyed: pruned everywhere.
            let destroyed = try await client.call(.delete, "/v1/services/pay-api")
            #expect(destroyed.status == 200, "\(destroyed.text)")
            try await wait.until("a pruned") { await gone(kubeA) }
        }
    }
}
