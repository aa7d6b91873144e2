import Events
import Foundation
import Testing
import TestSupport

/// Placements over clusters of the project's simulated Kubernetes API (`ops/kube-sim`; no real API server can run
/// here), through the real API, health monitor and placement scheduler at production parameters (health every
/// 5 s, 30 s grace): 14 replicas at 3:2:1 are 7:5:2; a drained cluster's share moves at once and comes back on
/// uncordon (in steps: a quarter of the replicas at a time); a cluster whose API stops answering keeps its share through the grace period, then loses it, and gets
/// it back when it answers again. Bad placements are refused with the field and append nothing.
@Suite struct PlacementSimulatedKubeTests {
    @Test(.timeLimit(.minutes(5))) func placementsDivideAndMoveOffDrainedAndFailedClusters() async throws {
        // An API of its own for each cluster (one API server is registered once: two clusters on it would prune each
        // other's objects); a move settles only once each new share's own pods are ready.
        let simA = try KubeSimulator(), simB = try KubeSimulator(), simC = try KubeSimulator(), simD = try KubeSimulator(nodes: 1)
        defer { simA.stop(); simB.stop(); simC.stop(); simD.stop() }
        try await ServerHarness.with { harness, client in
            let line = try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "Payments"}"#)
            let service = try await client.call(.post, "/v1/services?after=\(line.json["position"] as? String ?? "")",
                                                json: #"{"name": "pay-api", "businessLine": "pay", "image": "registry.example.com/pay:1", "replicas": 14}"#)
            #expect(service.status == 201, "\(service.text)")
            for (name, sim, tier) in [("a", simA, "gold"), ("b", simB, "gold"), ("c", simC, "gold"), ("d", simD, "silver")] {
                let r = try await client.call(.post, "/v1/clusters", json: ClusterRegistrationSimulatedKubeTests.body(
                    name: name, apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token, extra: ["labels": ["tier": tier]]))
                #expect(r.status == 201, "\(name): \(r.text)")
            }
            let wait = Eventually(seconds: 60)
            try await wait.until("every cluster healthy") {
                let items = try await client.call(.get, "/v1/clusters").json["items"] as? [[String: Any]] ?? []
                return items.count == 4 && items.allSatisfy { $0["healthy"] as? Bool == true }
            }

            // Refused, with the field, appending nothing.
            let before = try await harness.callerCommandCount()
            for (body, field) in [
                (#"{"clusters": ["a", "ghost"], "division": "static-weight"}"#, "clusters"),
                (#"{"clusters": ["a", "b"], "division": "static-weight", "weights": {"a": 0}}"#, "weights.a"),
                (#"{"clusters": ["a", "b"], "division": "static-weight", "weights": {"a": -2}}"#, "weights.a"),
                (#"{"clusters": ["a", "b"], "division": "static-weight", "weights": {"d": 2}}"#, "weights.d"),
                (#"{"selector": {"tier": "gold"}, "division": "static-weight", "weights": {"d": 2}}"#, "weights"),
                (#"{"selector": {"tier": "bronze"}, "division": "aggregated"}"#, "selector"),
                (#"{"clusters": ["d"], "selector": {"tier": "gold"}, "division": "aggregated"}"#, "selector"),
                (#"{"clusters": ["a"], "division": "round-robin"}"#, "division"),
                (#"{"division": "aggregated"}"#, "clusters"),
                (#"{"clusters": ["a"], "division": "aggregated", "weights": {"a": 1}}"#, "weights"),
            ] {
                let r = try await client.call(.put, "/v1/services/pay-api/placement", json: body)
                #expect(r.status == 422 && r.json["field"] as? String == field, "\(body): \(r.status) \(r.text)")
            }
            #expect(try await client.call(.put, "/v1/services/ghost/placement", json: #"{"clusters": ["a"], "division": "aggregated"}"#).status == 404)
            #expect(try await harness.callerCommandCount() == before, "refused placements appended nothing")

            func split() async throws -> [String: Int] {
                let p = try await client.call(.get, "/v1/services/pay-api/placement").json
                // A cluster losing its share is listed with 0 replicas while it still runs them (until the move settles).
                return Dictionary(uniqueKeysWithValues: (p["clusters"] as? [[String: Any]] ?? []).compactMap { c in
                    (c["replicas"] as? Int).flatMap { $0 > 0 ? (c["cluster"] as! String, $0) : nil }
                })
            }
            let set = try await client.call(.put, "/v1/services/pay-api/placement",
                                            json: #"{"selector": {"tier": "gold"}, "division": "static-weight", "weights": {"a": 3, "b": 2, "c": 1}}"#)
            #expect(set.status == 200, "\(set.text)")
            try await wait.until("7:5:2") { try await split() == ["a": 7, "b": 5, "c": 2] }
            let placement = try await client.call(.get, "/v1/services/pay-api/placement").json
            let inputs = placement["inputs"] as? [[String: Any]] ?? []
            #expect(inputs.map { "\($0["cluster"]!):\($0["state"]!):\($0["weight"]!)" } == ["a:active:3", "b:active:2", "c:active:1"], "\(inputs)")

            // A cluster that runs replicas cannot be removed (nobody would look after them); nothing is appended.
            let beforeRemove = try await harness.callerCommandCount()
            let remove = try await client.call(.delete, "/v1/clusters/b")
            #expect(remove.status == 409 && (remove.json["error"] as? String ?? "").contains("pay-api"), "\(remove.text)")
            #expect(try await harness.callerCommandCount() == beforeRemove)
            // Replacing the placement with one that divides alike is decided (a new placement revision), not refused forever.
            let same = try await client.call(.put, "/v1/services/pay-api/placement",
                                             json: #"{"clusters": ["c", "b", "a"], "division": "static-weight", "weights": {"a": 3, "b": 2, "c": 1}}"#)
            #expect(same.status == 200, "\(same.text)")
            try await wait.until("the same split for placement revision 2") {
                let p = try await client.call(.get, "/v1/services/pay-api/placement").json
                return p["decidedRevision"] as? Int == 2 && p["placementRevision"] as? Int == 2
            }
            #expect(try await split() == ["a": 7, "b": 5, "c": 2])

            // A drain moves b's share at once; uncordon brings it back.
            #expect(try await client.call(.post, "/v1/clusters/b/drain").status == 200)
            let withoutB = ReplicaDivision.staticWeight(14, weights: ["a": 3, "c": 1])
            try await wait.until("b drained: \(withoutB)") { try await split() == withoutB }
            #expect(try await client.call(.post, "/v1/clusters/b/uncordon").status == 200)
            try await wait.until("b back") {
                let p = try await client.call(.get, "/v1/services/pay-api/placement").json
                wait.seen = "\(p["clusters"] ?? "") settled \(p["settled"] ?? "")"
                return try await split() == ["a": 7, "b": 5, "c": 2]
            }

            // c's API stops answering: after the monitor sees it and the 30 s grace, c's share moves; it comes back.
            try simC.fault("down")
            var unhealthyFor = 0.0
            try await wait.until("c not healthy", seconds: 40) {
                let c = try await client.call(.get, "/v1/clusters/c").json
                unhealthyFor = (c["healthChangedAt"] as? String).flatMap(WharfTime.parse).map { max(0, Date().timeIntervalSince($0)) } ?? 0
                return c["healthy"] as? Bool == false
            }
            // The grace runs from the report that found c unhealthy (healthChangedAt), which the read model, and so this
            // test, sees later.
            let unhealthySince = ContinuousClock.now - .milliseconds(Int64(unhealthyFor * 1000))
            #expect(try await split() == ["a": 7, "b": 5, "c": 2], "c holds its share through the grace period")
            let withoutC = ReplicaDivision.staticWeight(14, weights: ["a": 3, "b": 2])
            try await wait.until("c's share moved: \(withoutC)", seconds: 60) { try await split() == withoutC }
            #expect(ContinuousClock.now - unhealthySince >= .seconds(20), "the share moved before the grace period was over")
            let moved = try await client.call(.get, "/v1/services/pay-api/placement").json
            #expect((moved["inputs"] as? [[String: Any]] ?? []).contains { $0["cluster"] as? String == "c" && $0["state"] as? String == "unhealthy" })
            try simC.fault("clear")
            try await wait.until("c back", seconds: 60) { try await split() == ["a": 7, "b": 5, "c": 2] }

            // Every division is in the log with its inputs, by the scheduler.
            let audit = try await client.call(.get, "/v1/audit?aggregate=service/pay-api&limit=1000")
            let decisions = (audit.json["items"] as? [[String: Any]] ?? []).filter { $0["commandType"] as? String == "RecordPlacementDecision" }
            #expect(decisions.count >= 5 && decisions.allSatisfy { $0["actor"] as? String == "system:placement" && $0["outcome"] as? String == "accepted" },
                    "\(decisions)")
        }
    }
}
