import AsyncHTTPClient
import EventLog
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TestSupport
import Workers

/// `kill -9` of the `wharf serve` running a cluster worker while it applies, against the project's simulated
/// Kubernetes API (`ops/kube-sim`; no real API server can run here) made slow (1.5 s per answer) so that the kill
/// lands mid-apply. The restarted node takes the cluster over, converges (one Deployment, its pods ready, their IPs
/// the service's members), and the log holds no observation twice: every recorded report of the cluster's pods
/// differs from the one before it, and the last one is what the cluster runs.
@Suite(.serialized) struct ClusterKillNineSimulatedKubeTests: CallsWharfProcess {
    @Test(.timeLimit(.minutes(5))) func killNineMidApplyConvergesOnRestart() async throws {
        let sim = try KubeSimulator(readyDelay: 0.5, podNetwork: "10.61")
        defer { sim.stop() }
        let scratch = try await Database.createScratch(base: try TestEnvironment.postgres(), prefix: "wharf_cluster_kill", logger: TestEnvironment.logger)
        let url = "postgres://\(scratch.username)@\(scratch.host ?? "127.0.0.1"):\(scratch.port)/\(scratch.database)"
        let token = "cluster-kill-test-token-0123456789"
        let port = try TestEnvironment.freePort()
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-cluster-kill-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let kube = try KubernetesClient(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token)
        defer { Task { await kube.shutdown() } }
        let wait = Eventually(seconds: 90)

        let first = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dataDirectory)
        defer { first.terminate() }
        try await first.waitUntilHealthy()
        let line = try await call(port, token, .POST, "/v1/business-lines", #"{"name": "pay", "displayName": "Payments"}"#)
        let service = try await call(port, token, .POST, "/v1/services?after=\(line.json["position"] as? String ?? "")",
                                     #"{"name": "pay-api", "businessLine": "pay", "image": "registry.example.com/pay/api:1", "replicas": 4, "ports": [{"containerPort": 8080}]}"#)
        #expect(service.status == 201, "\(service.text)")
        let registered = try await call(port, token, .POST, "/v1/clusters", ClusterRegistrationSimulatedKubeTests.body(
            name: "a", apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token))
        #expect(registered.status == 201, "\(registered.text)")
        try await wait.until("a healthy") { try await call(port, token, .GET, "/v1/clusters/a").json["healthy"] as? Bool == true }

        // Every answer of the cluster now takes 1.5 s: the apply of the placement is in flight when the node dies.
        try sim.fault("slow", "1500")
        let placed = try await call(port, token, .PUT, "/v1/services/pay-api/placement", #"{"clusters": ["a"], "division": "aggregated"}"#)
        #expect(placed.status == 200, "\(placed.text)")
        try await wait.until("the division recorded") {
            let p = try await call(port, token, .GET, "/v1/services/pay-api/placement").json
            return (p["clusters"] as? [[String: Any]] ?? []).contains { $0["replicas"] as? Int == 4 }
        }
        // Killed as soon as the first object (the Namespace) is applied, with the Deployment and Service still to come.
        var appliesAtKill = 0
        let applying = ContinuousClock.now + .seconds(30)
        while appliesAtKill == 0, ContinuousClock.now < applying {
            appliesAtKill = try sim.stats()["applies"] as? Int ?? 0
            if appliesAtKill == 0 { try await Task.sleep(for: .milliseconds(100)) }
        }
        await first.kill9()
        #expect((1..<3).contains(appliesAtKill), "killed mid-apply: \(appliesAtKill) of the Namespace, Deployment and Service applied")
        try sim.fault("clear")

        let second = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dataDirectory)
        defer { second.terminate() }
        try await second.waitUntilHealthy()
        func pods() async throws -> [(name: String, ip: String)] {
            let items = try await kube.getJSON("/api/v1/namespaces/pay/pods?labelSelector=wharf.dev%2Fservice%3Dpay-api")["items"] as? [[String: Any]] ?? []
            return items.compactMap { pod in
                let status = pod["status"] as? [String: Any]
                let ready = (status?["conditions"] as? [[String: Any]] ?? []).contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" }
                guard ready, let ip = status?["podIP"] as? String, let name = (pod["metadata"] as? [String: Any])?["name"] as? String else { return nil }
                return (name, ip)
            }
        }
        try await wait.until("converged: 4 ready pods, their IPs the members") {
            let (running, members) = (try await pods(), try await call(port, token, .GET, "/v1/services/pay-api").json["addresses"] as? [String] ?? [])
            return running.count == 4 && Set(members) == Set(running.map { "\($0.ip):8080" })
        }
        let deployments = try await kube.getJSON("/apis/apps/v1/deployments")["items"] as? [[String: Any]] ?? []
        #expect(deployments.count == 1, "one Deployment, however often it was applied: \(deployments.count)")

        // No observation twice: each accepted report of a's pods differs from the previous one; the last is what runs.
        let audit = try await call(port, token, .GET, "/v1/audit?aggregate=service/pay-api&limit=1000").json["items"] as? [[String: Any]] ?? []
        let reports = audit.filter { $0["commandType"] as? String == "RecordServiceInstances" && $0["outcome"] as? String == "accepted" }
        #expect(!reports.isEmpty, "the cluster's pods were recorded")
        let history = try await call(port, token, .GET, "/v1/services/pay-api/history?limit=1000").json["items"] as? [[String: Any]] ?? []
        let runningNow = Set(try await pods().map(\.name))
        #expect(Set(history.filter { $0["goneAt"] == nil }.compactMap { $0["pod"] as? String }) == runningNow, "\(history)")
        #expect(Set(history.compactMap { $0["pod"] as? String }).count == history.count, "every pod once in the history")
        let observed = try await observations(scratch)
        #expect(observed.count == reports.count, "one event per accepted report")
        #expect(zip(observed, observed.dropFirst()).allSatisfy { $0 != $1 }, "a report applied twice: \(observed)")
        second.terminate()
        try? await Database.dropScratch(scratch, logger: TestEnvironment.logger)
    }

    /// The instances of every ServiceInstancesObserved event of pay-api, in log order, as comparable text (read
    /// from the log itself: one aggregate, one partition).
    func observations(_ scratch: DatabaseSettings) async throws -> [String] {
        let database = try await Database.open(scratch, logger: TestEnvironment.logger)
        defer { Task { await database.close() } }
        var out: [String] = []
        let rows = try await database.client.query("""
            SELECT value FROM wharf_log.records WHERE topic = 'events' AND key = 'service/pay-api' ORDER BY partition, "offset"
            """, logger: TestEnvironment.logger)
        for try await value in rows.decode(String.self) {
            guard let event = try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any],
                  event["type"] as? String == "ServiceInstancesObserved", let payload = event["payload"] as? [String: Any] else { continue }
            out.append(String(decoding: try JSONSerialization.data(withJSONObject: payload["instances"] ?? [], options: [.sortedKeys]), as: UTF8.self))
        }
        return out
    }
}
