import Foundation
import Testing
import TestSupport
import Workers

/// Recreate, debug container and log read of one pod, through the real API, processor, projector and cluster worker,
/// against the project's simulated Kubernetes API (`ops/kube-sim`; no real API server can run here). Each is
/// recorded before it happens and listed with its outcome; bad input is refused naming the field, appending nothing.
@Suite struct InstanceOperationsSimulatedKubeTests {
    @Test(.timeLimit(.minutes(3))) func aPodIsRecreatedDebuggedAndItsLogReadWithEachRecorded() async throws {
        let sim = try KubeSimulator(readyDelay: 0.3, podNetwork: "10.72")
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
            let wait = Eventually()
            /// The sim's pods of the service: name -> (ready, ip, ephemeral containers).
            func pods() async throws -> [String: (ready: Bool, ip: String?, ephemeral: [[String: Any]])] {
                var out: [String: (Bool, String?, [[String: Any]])] = [:]
                for pod in try await kube.getJSON("/api/v1/namespaces/pay/pods?labelSelector=wharf.dev%2Fservice%3Dpay-api")["items"] as? [[String: Any]] ?? [] {
                    let metadata = pod["metadata"] as? [String: Any], status = pod["status"] as? [String: Any]
                    if metadata?["deletionTimestamp"] != nil { continue }
                    let ready = (status?["conditions"] as? [[String: Any]] ?? []).contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" }
                    out[metadata?["name"] as? String ?? ""] = (ready, status?["podIP"] as? String,
                                                               (pod["spec"] as? [String: Any])?["ephemeralContainers"] as? [[String: Any]] ?? [])
                }
                return out
            }
            func instances() async throws -> [String] {
                (try await client.call(.get, "/v1/services/pay-api/instances").json["items"] as? [[String: Any]] ?? []).compactMap { $0["pod"] as? String }.sorted()
            }
            func operation(_ id: String) async throws -> [String: Any] { try await client.call(.get, "/v1/services/pay-api/operations/\(id)").json }
            func members() async throws -> Set<String> { Set(try await client.call(.get, "/v1/services/pay-api").json["addresses"] as? [String] ?? []) }

            try await wait.until("a healthy") { try await client.call(.get, "/v1/clusters/a").json["healthy"] as? Bool == true }
            #expect(try await client.call(.put, "/v1/services/pay-api/placement", json: #"{"clusters": ["a"], "division": "aggregated"}"#).status == 200)
            var first: [String] = []
            try await wait.until("2 ready pods, reported as the instances") {
                let p = try await pods()
                first = try await instances()
                wait.seen = "pods \(p.keys.sorted()), instances \(first)"
                return p.values.filter(\.ready).count == 2 && first == p.keys.sorted()
            }
            let (old, kept) = (first[0], first[1])

            // The log: recorded first, then streamed from the cluster.
            let log = try await client.call(.post, "/v1/services/pay-api/instances/a/\(old)/logs", json: #"{"tailLines": 50}"#)
            #expect(log.status == 200 && log.text.contains("kube-sim: container app started") && log.text.contains("listening on :8080"), "\(log.text)")
            try await wait.until("the read listed with the operations") {
                let reads = try await client.call(.get, "/v1/services/pay-api/operations").json["items"] as? [[String: Any]] ?? []
                wait.seen = "\(reads)"
                return reads.count == 1 && reads.first?["kind"] as? String == "logs" && reads.first?["pod"] as? String == old
                    && (reads.first?["request"] as? [String: Any])?["tailLines"] as? Int == 50 && reads.first?["requestedBy"] as? String == "user:admin"
                    && reads.first?["state"] as? String == "done"
            }

            // Recreate: the worker deletes the pod, the Deployment replaces it, the old pod leaves the instances and the members.
            let recreate = try await client.call(.post, "/v1/services/pay-api/instances/a/\(old)/recreate")
            #expect(recreate.status == 200, "\(recreate.text)")
            let recreateId = try #require(recreate.json["commandId"] as? String)
            #expect(try await client.call(.post, "/v1/services/pay-api/instances/a/\(old)/recreate", json: "{}").status == 409, "one at a time")
            try await wait.until("the recreate done") {
                let op = try await operation(recreateId)
                wait.seen = "\(op)"
                return op["state"] as? String == "done" && (op["detail"] as? String ?? "").contains("pod deleted")
            }
            try await wait.until("\(old) replaced: 2 ready pods without it, in the instances and the members") {
                let p = try await pods(), now = try await instances(), m = try await members()
                wait.seen = "pods \(p.keys.sorted()), instances \(now), members \(m.sorted())"
                let ready = Set(p.values.filter(\.ready).compactMap { $0.ip.map { "\($0):8080" } })
                return p[old] == nil && p.count == 2 && p[kept] != nil && now == p.keys.sorted() && ready.count == 2 && m == ready
            }
            let history = try await client.call(.get, "/v1/services/pay-api/history").json["items"] as? [[String: Any]] ?? []
            #expect(history.contains { $0["pod"] as? String == old && $0["goneAt"] != nil }, "\(history)")

            // A debug container on the pod that stayed.
            let debug = try await client.call(.post, "/v1/services/pay-api/instances/a/\(kept)/debug",
                                              json: #"{"image": "registry.example.com/tools/busybox:1.36", "container": "dbg-1"}"#)
            #expect(debug.status == 200, "\(debug.text)")
            let debugId = try #require(debug.json["commandId"] as? String)
            try await wait.until("the debug container added") {
                let op = try await operation(debugId)
                wait.seen = "\(op)"
                return op["state"] as? String == "done" && (op["detail"] as? String ?? "").contains("kubectl attach -it -n pay \(kept) -c dbg-1")
            }
            let ephemeral = try #require(try await pods()[kept]?.ephemeral.first)
            #expect(ephemeral["name"] as? String == "dbg-1" && ephemeral["image"] as? String == "registry.example.com/tools/busybox:1.36"
                    && ephemeral["targetContainerName"] as? String == "app", "\(ephemeral)")

            // Bad input appends nothing and names the field; a pod that is not an instance is decided (404, in the audit).
            let before = try await harness.callerCommandCount()
            let badImage = try await client.call(.post, "/v1/services/pay-api/instances/a/\(kept)/debug", json: #"{"image": "not an image"}"#)
            #expect(badImage.status == 422 && badImage.json["field"] as? String == "image", "\(badImage.text)")
            let badTail = try await client.call(.post, "/v1/services/pay-api/instances/a/\(kept)/logs", json: #"{"tailLines": 20000}"#)
            #expect(badTail.status == 422 && badTail.json["field"] as? String == "tailLines", "\(badTail.text)")
            let traversal = try await client.call(.post, "/v1/services/pay-api/instances/a/\(kept)/logs", json: #"{"container": "../../secrets"}"#)
            #expect(traversal.status == 422 && traversal.json["field"] as? String == "container", "\(traversal.text)")
            let unknown = try await client.call(.post, "/v1/services/pay-api/instances/a/\(kept)/logs", json: #"{"lines": 5}"#)
            #expect(unknown.status == 422 && unknown.json["field"] as? String == "lines", "\(unknown.text)")
            let withBody = try await client.call(.post, "/v1/services/pay-api/instances/a/\(kept)/recreate", json: #"{"force": true}"#)
            #expect(withBody.status == 422, "\(withBody.text)")
            #expect(try await client.call(.post, "/v1/services/pay-api/instances/a/\(old)/recreate").status == 404, "gone")
            #expect(try await harness.callerCommandCount() == before + 1, "only the 404 is decided; the 422s append nothing")

            let all = try await client.call(.get, "/v1/services/pay-api/operations").json["items"] as? [[String: Any]] ?? []
            #expect(all.map { $0["kind"] as? String ?? "" } == ["debug", "recreate", "logs"], "newest first: \(all)")
        }
    }
}
