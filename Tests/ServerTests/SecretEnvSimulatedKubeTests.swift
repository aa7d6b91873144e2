import Foundation
import Testing
import TestSupport
import Workers

/// Secret env reaches the pods through a Kubernetes Secret of the service's own, against the project's simulated
/// Kubernetes API (`ops/kube-sim`; no real API server can run here): the value is opened only by the cluster worker,
/// the Deployment references it (no value in it), a new value rewrites the Secret and rolls the pods, and a destroyed
/// service's Secret is pruned with it.
@Suite struct SecretEnvSimulatedKubeTests {
    @Test(.timeLimit(.minutes(3))) func secretEnvIsASecretTheDeploymentReferences() async throws {
        let sim = try KubeSimulator(readyDelay: 0.3, podNetwork: "10.73")
        defer { sim.stop() }
        let kube = try KubernetesClient(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token)
        defer { Task { await kube.shutdown() } }
        let (password, rotated) = ("pw-\(UUID().uuidString.prefix(8))", "pw2-\(UUID().uuidString.prefix(8))")
        try await ServerHarness.with { harness, client in
            let line = try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "Payments"}"#)
            let created = try await client.call(.post, "/v1/services?after=\(line.json["position"] as? String ?? "")", json: """
                {"name": "pay-api", "businessLine": "pay", "image": "registry.example.com/pay/api:1.0", "replicas": 1,
                 "env": {"MODE": "prod"}, "secretEnv": {"DB_PASSWORD": "\(password)"}}
                """)
            #expect(created.status == 201, "\(created.text)")
            let r = try await client.call(.post, "/v1/clusters", json: ClusterRegistrationSimulatedKubeTests.body(
                name: "a", apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token))
            #expect(r.status == 201, "\(r.text)")
            let wait = Eventually()
            try await wait.until("a healthy") { try await client.call(.get, "/v1/clusters/a").json["healthy"] as? Bool == true }
            #expect(try await client.call(.put, "/v1/services/pay-api/placement", json: #"{"clusters": ["a"], "division": "aggregated"}"#).status == 200)

            func secret() async throws -> String? {
                let data = try await kube.getJSON("/api/v1/namespaces/pay/secrets/pay-api-secret-env")["data"] as? [String: String]
                return data?["DB_PASSWORD"].flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
            }
            func deployment() async throws -> [String: Any] { try await kube.getJSON("/apis/apps/v1/namespaces/pay/deployments/pay-api") }
            try await wait.until("the Secret holds the value and a pod runs") {
                let ready = ((try await deployment())["status"] as? [String: Any])?["readyReplicas"] as? Int
                wait.seen = "ready \(ready ?? 0)"
                return try await secret() == password && ready == 1
            }
            let d = try await deployment()
            let text = String(decoding: try JSONSerialization.data(withJSONObject: d), as: UTF8.self)
            #expect(!text.contains(password), "the value is not in the Deployment")
            let container = ((((d["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?.first
            let env = container?["env"] as? [[String: Any]] ?? []
            #expect(env.contains { $0["name"] as? String == "MODE" && $0["value"] as? String == "prod" })
            #expect(env.contains {
                $0["name"] as? String == "DB_PASSWORD"
                    && (($0["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any])?["name"] as? String == "pay-api-secret-env"
            }, "\(env)")

            // A new value: the Secret changes and the pods roll (a new revision).
            let set = try await client.call(.patch, "/v1/services/pay-api", json: #"{"secretEnv": {"DB_PASSWORD": "\#(rotated)"}}"#)
            #expect(set.status == 200, "\(set.text)")
            try await wait.until("the new value in the Secret, the Deployment at revision 2") {
                let revision = ((try await deployment())["metadata"] as? [String: Any]).flatMap { ($0["annotations"] as? [String: String])?["wharf.dev/revision"] }
                return try await secret() == rotated && revision == "2"
            }

            #expect(try await client.call(.delete, "/v1/services/pay-api").status == 200)
            try await wait.until("the Secret pruned with the service") { (try? await secret()) == nil }
        }
    }
}
