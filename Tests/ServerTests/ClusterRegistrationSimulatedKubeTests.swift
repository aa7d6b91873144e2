import Foundation
import Testing
import TestSupport

/// Registering Kubernetes clusters through the real API, checked against the project's simulated Kubernetes API
/// (`ops/kube-sim`; no real API server can run here): HTTPS with the cluster's CA and bearer token. Bad input and
/// clusters that cannot be reached are refused with the field at fault and append nothing; the token is in no answer
/// and no table in the clear.
@Suite struct ClusterRegistrationSimulatedKubeTests {
    static func body(name: String = "sim-a", apiServer: String, caBundle: String?, token: String, environment: String = "test",
                     extra: [String: Any] = [:]) -> String {
        var object: [String: Any] = ["name": name, "apiServer": apiServer, "token": token, "environment": environment,
                                     "region": "lab", "labels": ["tier": "gold", "wharf.dev/zone": "a"]]
        if let caBundle { object["caBundle"] = caBundle }
        for (k, v) in extra { object[k] = v }
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test(.timeLimit(.minutes(3))) func clustersAreRegisteredCheckedAndRetired() async throws {
        let sim = try KubeSimulator()
        defer { sim.stop() }
        try await ServerHarness.with { harness, client in
            let created = try await client.call(.post, "/v1/clusters", json: Self.body(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token))
            #expect(created.status == 201, "\(created.text)")
            let position = try #require(created.json["position"] as? String)
            let got = try await client.call(.get, "/v1/clusters/sim-a?after=\(position)")
            #expect(got.status == 200 && got.json["apiServer"] as? String == sim.apiServer && got.json["scheduling"] as? String == "active"
                    && got.json["environment"] as? String == "test" && (got.json["labels"] as? [String: String])?["tier"] == "gold", "\(got.text)")
            #expect(got.json["token"] == nil && !got.text.contains(sim.token))
            // Sealed in the log, in no table in the clear (the log's tables included).
            #expect(try await SecretEnvAPITests.occurrences(of: [sim.token], in: harness.store.database).isEmpty)
            let list = try await client.call(.get, "/v1/clusters")
            #expect((list.json["items"] as? [[String: Any]])?.map { $0["name"] as? String } == ["sim-a"] && !list.text.contains(sim.token), "\(list.text)")

            // The cluster worker records its health: 3 ready nodes of 4 CPUs and 8 GiB each.
            func waitForHealth(_ what: String, _ check: ([String: Any]) -> Bool) async throws -> [String: Any] {
                let deadline = ContinuousClock.now + .seconds(40)
                var last: [String: Any] = [:]
                while ContinuousClock.now < deadline {
                    last = try await client.call(.get, "/v1/clusters/sim-a").json
                    if check(last) { return last }
                    try await Task.sleep(for: .milliseconds(250))
                }
                Issue.record("\(what): not seen within 40 s; last \(last)")
                return last
            }
            let healthy = try await waitForHealth("healthy") { $0["healthy"] as? Bool == true }
            let health = healthy["health"] as? [String: Any] ?? [:]
            #expect(health["nodesReady"] as? Int == 3 && health["nodesTotal"] as? Int == 3 && health["allocatableCPUMillis"] as? Int == 12_000
                    && health["allocatableMemoryBytes"] as? Int == 3 * 8 * 1024 * 1024 * 1024, "\(health)")
            try sim.fault("nodes-notready")
            let sick = try await waitForHealth("not healthy") { $0["healthy"] as? Bool == false }
            let reason = (sick["health"] as? [String: Any])?["reason"] as? String ?? ""
            #expect(reason.contains("not ready"), "\(sick)")
            try sim.fault("clear")
            _ = try await waitForHealth("healthy again") { $0["healthy"] as? Bool == true }
            let audit = try await client.call(.get, "/v1/audit?aggregate=cluster/sim-a&limit=100")
            let reports = (audit.json["items"] as? [[String: Any]] ?? []).filter { $0["commandType"] as? String == "RecordClusterHealth" }
            // Appended on change only: healthy, not healthy, healthy again (a poll every 5 s would be many more).
            #expect(reports.count == 3 && reports.allSatisfy { $0["actor"] as? String == "system:cluster" && $0["outcome"] as? String == "accepted" },
                    "\(reports)")

            #expect(try await client.call(.post, "/v1/clusters/sim-a/cordon").status == 200)
            let again = try await client.call(.post, "/v1/clusters/sim-a/cordon")
            #expect(again.status == 200 && again.json["outcome"] as? String == "unchanged" && (again.json["reason"] as? String ?? "").contains("cordoned already"),
                    "a second cordon changes nothing, like kubectl cordon: \(again.text)")
            #expect(try await client.call(.post, "/v1/clusters/sim-a/drain").status == 200)
            let uncordoned = try await client.call(.post, "/v1/clusters/sim-a/uncordon")
            #expect(uncordoned.status == 200, "\(uncordoned.text)")
            let active = try await client.call(.get, "/v1/clusters/sim-a?after=\(uncordoned.json["position"] as? String ?? "")")
            #expect(active.json["scheduling"] as? String == "active", "\(active.text)")
            let duplicate = try await client.call(.post, "/v1/clusters", json: Self.body(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token))
            #expect(duplicate.status == 409 && (duplicate.json["error"] as? String ?? "").contains("registered already"), "\(duplicate.text)")
            // The same API server under another name (and another spelling): the two would prune each other's objects.
            let beforeTwin = try await harness.callerCommandCount()
            let twin = try await client.call(.post, "/v1/clusters", json: Self.body(name: "sim-twin", apiServer: sim.apiServer + "/",
                                                                                   caBundle: sim.caBundle, token: sim.token))
            #expect(twin.status == 409 && twin.json["field"] as? String == "apiServer" && (twin.json["error"] as? String ?? "").contains("sim-a"),
                    "\(twin.text)")
            #expect(try await harness.callerCommandCount() == beforeTwin)

            let removed = try await client.call(.delete, "/v1/clusters/sim-a")
            #expect(removed.status == 200, "\(removed.text)")
            #expect(try await client.call(.get, "/v1/clusters/sim-a?after=\(removed.json["position"] as? String ?? "")").status == 404)
            let ghost = try await client.call(.post, "/v1/clusters/ghost/cordon")
            #expect(ghost.status == 404 && (ghost.json["reason"] as? String ?? "").contains("not registered"), "\(ghost.text)")
            // A removed name can be registered again.
            let back = try await client.call(.post, "/v1/clusters", json: Self.body(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token))
            #expect(back.status == 201, "\(back.text)")
        }
    }

    @Test(.timeLimit(.minutes(3))) func badInputAndUnreachableClustersAppendNothing() async throws {
        let sim = try KubeSimulator()
        defer { sim.stop() }
        try await ServerHarness.with { harness, client in
            let before = try await harness.callerCommandCount()
            let closedPort = try TestEnvironment.freePort()
            let cases: [(String, String, Int)] = [
                (Self.body(apiServer: "http://127.0.0.1:\(sim.port)", caBundle: sim.caBundle, token: sim.token), "apiServer", 422),
                (Self.body(apiServer: "https://user:pw@127.0.0.1:\(sim.port)", caBundle: sim.caBundle, token: sim.token), "apiServer", 422),
                (Self.body(apiServer: sim.apiServer + "?x=1", caBundle: sim.caBundle, token: sim.token), "apiServer", 422),
                (Self.body(name: "Bad_Name", apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token), "name", 422),
                (Self.body(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token, environment: "staging"), "environment", 422),
                (Self.body(apiServer: sim.apiServer, caBundle: "not a certificate", token: sim.token), "caBundle", 422),
                (Self.body(apiServer: sim.apiServer, caBundle: sim.caBundle, token: "two words"), "token", 422),
                (Self.body(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token, extra: ["labels": ["bad key!": "x"]]), "labels", 422),
                (Self.body(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token, extra: ["extra": 1]), "extra", 422),
                // Reachable, but the token is not the cluster's: the API's 401 names the token.
                (Self.body(apiServer: sim.apiServer, caBundle: sim.caBundle, token: "not-the-token-0123456789"), "token", 422),
                // The certificate does not verify against the system trust store.
                (Self.body(apiServer: sim.apiServer, caBundle: nil, token: sim.token), "apiServer", 422),
                // Nothing listens there.
                (Self.body(apiServer: "https://127.0.0.1:\(closedPort)", caBundle: sim.caBundle, token: sim.token), "apiServer", 422),
            ]
            for (body, field, status) in cases {
                let r = try await client.call(.post, "/v1/clusters", json: body)
                #expect(r.status == status && r.json["field"] as? String == field, "\(field): \(r.status) \(r.text)")
                #expect((r.json["error"] as? String ?? "").isEmpty == false)
            }
            let missing = try await client.call(.post, "/v1/clusters", json: #"{"name": "x", "apiServer": "\#(sim.apiServer)", "environment": "test"}"#)
            #expect((400...422).contains(missing.status) && missing.text.contains("token"), "\(missing.text)")
            // An API that stops answering: refused after the probe's 5 s, not hung.
            try sim.fault("down")
            let clock = ContinuousClock()
            let start = clock.now
            let down = try await client.call(.post, "/v1/clusters", json: Self.body(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token))
            #expect(down.status == 422 && down.json["field"] as? String == "apiServer", "\(down.text)")
            #expect(clock.now - start < .seconds(20), "the probe gave up in time")
            try sim.fault("clear")
            #expect(try await harness.callerCommandCount() == before, "refused registrations appended nothing")
            let ok = try await client.call(.post, "/v1/clusters", json: Self.body(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token))
            #expect(ok.status == 201, "\(ok.text)")
        }
    }
}
