import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

@Suite struct ServiceAPITests {
    let create = #"{"name":"payments-api","businessLine":"pay","image":"reg.local/pay/api:1.0","replicas":2,"env":{"MODE":"prod"},"ports":[{"containerPort":8080}],"healthCheck":{"path":"/healthz","port":8080}}"#

    @Test(arguments: LogKind.allCases)
    func createScaleUpgradeRollbackAndAudit(_ kind: LogKind) async throws {
        try await ServerHarness.with(kind) { _, client in
            let created = try await client.call(.post, "/v1/services", json: create)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["outcome"] as? String == "accepted")
            #expect(((created.json["events"] as? [[String: Any]])?.first?["type"] as? String) == "ServiceCreated")

            #expect(try await client.call(.post, "/v1/services/payments-api/scale", json: #"{"replicas":5}"#).status == 200)
            // To the replicas it has: succeeds and changes nothing (as kubectl scale does), recorded as unchanged.
            let same = try await client.call(.post, "/v1/services/payments-api/scale", json: #"{"replicas":5}"#)
            #expect(same.status == 200 && same.json["outcome"] as? String == "unchanged", "\(same.text)")
            #expect(same.json["reason"] as? String == #"service "payments-api" already has 5 replicas"#, "\(same.text)")
            #expect((same.json["events"] as? [[String: Any]])?.map { $0["type"] as? String } == ["CommandUnchanged"], "\(same.text)")
            #expect(try await client.call(.post, "/v1/services/payments-api/upgrade", json: #"{"image":"reg.local/pay/api:1.1"}"#).status == 200)
            let rolledBack = try await client.call(.post, "/v1/services/payments-api/rollback", json: #"{"revision":1}"#)
            #expect(rolledBack.status == 200)
            let position = try #require(rolledBack.json["position"] as? String)

            let service = try await client.call(.get, "/v1/services/payments-api?after=\(position)")
            #expect(service.status == 200)
            #expect(service.json["image"] as? String == "reg.local/pay/api:1.0")
            #expect(service.json["replicas"] as? Int == 5)
            #expect(service.json["revision"] as? Int == 3)

            let revisions = try await client.call(.get, "/v1/services/payments-api/revisions?after=\(position)")
            let items = try #require(revisions.json["items"] as? [[String: Any]])
            #expect(items.map { $0["cause"] as? String } == ["created", "image-upgraded", "rolled-back"])
            #expect(items.map { $0["image"] as? String } == ["reg.local/pay/api:1.0", "reg.local/pay/api:1.1", "reg.local/pay/api:1.0"])

            // Refused intents: answered with the reason and recorded as rejected.
            let unknown = try await client.call(.post, "/v1/services/ghost/scale", json: #"{"replicas":2}"#)
            #expect(unknown.status == 404)
            #expect((unknown.json["reason"] as? String)?.contains("does not exist") == true)
            let noRevision = try await client.call(.post, "/v1/services/payments-api/rollback", json: #"{"revision":9}"#)
            #expect(noRevision.status == 422)
            #expect(try await client.call(.delete, "/v1/services/payments-api").status == 200)
            let destroyed = try await client.call(.post, "/v1/services/payments-api/upgrade", json: #"{"image":"reg.local/pay/api:2"}"#)
            #expect(destroyed.status == 409)
            let last = try #require(destroyed.json["position"] as? String)

            let audit = try await client.call(.get, "/v1/audit?aggregate=service/payments-api&after=\(last)")
            let entries = try #require(audit.json["items"] as? [[String: Any]])
            #expect(entries.map { $0["commandType"] as? String } == ["CreateService", "ScaleService", "ScaleService", "UpgradeServiceImage", "RollbackService",
                                                                     "RollbackService", "DestroyService", "UpgradeServiceImage"])
            #expect(entries.map { $0["outcome"] as? String } == ["accepted", "accepted", "unchanged", "accepted", "accepted", "rejected", "accepted", "rejected"])
            #expect(entries[2]["reason"] as? String == #"service "payments-api" already has 5 replicas"#, "\(entries[2])")
            #expect(entries.allSatisfy { $0["actor"] as? String == "user:admin" && $0["position"] is String })
            let ghostAudit = try await client.call(.get, "/v1/audit?aggregate=service/ghost&actor=user:admin&after=\(unknown.json["position"] as! String)")
            #expect((ghostAudit.json["items"] as? [[String: Any]])?.first?["outcome"] as? String == "rejected")
            #expect(try await client.call(.get, "/v1/audit?actor=user:nobody").json["items"] as? [Any] != nil)

            let list = try await client.call(.get, "/v1/services")
            #expect((list.json["items"] as? [[String: Any]])?.count == 1)
        }
    }

    /// Requests refused at the door are not intents: clear 4xx, nothing appended.
    @Test(arguments: LogKind.allCases)
    func doorRefusalsAppendNothing(_ kind: LogKind) async throws {
        try await ServerHarness.with(kind) { harness, client in
            let before = try await harness.commandCount()
            let oversized = #"{"name":"big","businessLine":"pay","image":"a:1","replicas":1,"env":{"X":""# + String(repeating: "x", count: 1_100_000) + #""}}"#
            let cases: [DoorCase] = [
                DoorCase("no token", 401) { try await $0.call(.post, "/v1/services", json: create, token: nil) },
                DoorCase("wrong token", 401) { try await $0.call(.post, "/v1/services", json: create, token: "not-a-token") },
                DoorCase("double slash path", 401) { try await $0.call(.get, "//v1/audit", token: nil) },
                DoorCase("reads need a token too", 401) { try await $0.call(.get, "/v1/services", token: nil) },
                DoorCase("after beyond the log", 400) { try await $0.call(.get, "/v1/services?after=0:999999") },
                DoorCase("after beyond the partitions", 400) { try await $0.call(.get, "/v1/services?after=99:0") },
                DoorCase("bad request id", 400) { try await $0.call(.post, "/v1/services/a/scale", json: #"{"replicas":2}"#, headers: ["X-Request-Id": String(repeating: "x", count: 200)]) },
                DoorCase("not bearer", 401) { try await $0.call(.post, "/v1/services", json: create, token: nil, headers: ["Authorization": "Basic YTpi"]) },
                DoorCase("malformed JSON", 400) { try await $0.call(.post, "/v1/services", json: #"{"name": "x","#) },
                DoorCase("not an object", 400) { try await $0.call(.post, "/v1/services", json: "[1,2]") },
                DoorCase("empty body", 400) { try await $0.call(.post, "/v1/services/payments-api/scale", json: "") },
                DoorCase("unknown field", 422) { try await $0.call(.post, "/v1/services", json: #"{"name":"a","businessLine":"b","image":"c:1","replicas":1,"color":"red"}"#) },
                DoorCase("unknown nested field", 422) { try await $0.call(.post, "/v1/services", json: #"{"name":"a","businessLine":"b","image":"c:1","replicas":1,"ports":[{"containerPort":1,"hostPort":2}]}"#) },
                DoorCase("missing field", 422) { try await $0.call(.post, "/v1/services", json: #"{"name":"a","businessLine":"b","replicas":1}"#) },
                DoorCase("wrong type", 422) { try await $0.call(.post, "/v1/services/a/scale", json: #"{"replicas":"5"}"#) },
                DoorCase("name not DNS-1123", 422) { try await $0.call(.post, "/v1/services", json: #"{"name":"Pay_API","businessLine":"b","image":"c:1","replicas":1}"#) },
                DoorCase("name too long", 422) { try await $0.call(.post, "/v1/services", json: #"{"name":""# + String(repeating: "a", count: 64) + #"","businessLine":"b","image":"c:1","replicas":1}"#) },
                DoorCase("path name not DNS-1123", 422) { try await $0.call(.post, "/v1/services/Bad.Name/scale", json: #"{"replicas":2}"#) },
                DoorCase("bad image", 422) { try await $0.call(.post, "/v1/services", json: #"{"name":"a","businessLine":"b","image":"x;rm -rf /","replicas":1}"#) },
                DoorCase("replicas out of range", 422) { try await $0.call(.post, "/v1/services/a/scale", json: #"{"replicas":100000}"#) },
                DoorCase("body over 1 MiB", 413) { try await $0.call(.post, "/v1/services", json: oversized) },
                DoorCase("bad idempotency key", 400) { try await $0.call(.post, "/v1/services/a/scale", json: #"{"replicas":2}"#, headers: ["Idempotency-Key": "has space"]) },
                DoorCase("bad after", 400) { try await $0.call(.get, "/v1/services?after=zz") },
                DoorCase("bad audit time", 400) { try await $0.call(.get, "/v1/audit?from=yesterday") },
            ]
            for door in cases {
                let (label, status) = (door.label, door.status)
                let response = try await door.request(client)
                #expect(response.status == status, "\(label): \(response.text.prefix(300))")
                #expect(response.json["error"] is String, "\(label) carries a reason: \(response.text.prefix(300))")
            }
            #expect(try await harness.commandCount() == before, "refused requests appended nothing")
        }
    }

    @Test(arguments: LogKind.allCases)
    func idempotencyKeyAnswersTheOriginalAndAppendsNothing(_ kind: LogKind) async throws {
        try await ServerHarness.with(kind) { harness, client in
            let first = try await client.call(.post, "/v1/services", json: create, headers: ["Idempotency-Key": "portal-retry-1"])
            #expect(first.status == 201)
            let after = try await harness.commandCount()
            let repeatCall = try await client.call(.post, "/v1/services", json: create, headers: ["Idempotency-Key": "portal-retry-1"])
            #expect(repeatCall.status == 201)
            #expect(repeatCall.json["commandId"] as? String == first.json["commandId"] as? String)
            #expect(repeatCall.json["position"] as? String == first.json["position"] as? String)
            #expect(repeatCall.json["outcome"] as? String == "accepted")
            #expect(try await harness.commandCount() == after, "the repeat appended nothing")

            let different = try await client.call(.post, "/v1/services/payments-api/scale", json: #"{"replicas":3}"#, headers: ["Idempotency-Key": "portal-retry-1"])
            #expect(different.status == 422)
            #expect(try await harness.commandCount() == after)

            // A refused intent is answered the same way on a repeat.
            let rejected = try await client.call(.post, "/v1/services/ghost/scale", json: #"{"replicas":3}"#, headers: ["Idempotency-Key": "k2"])
            let rejectedAgain = try await client.call(.post, "/v1/services/ghost/scale", json: #"{"replicas":3}"#, headers: ["Idempotency-Key": "k2"])
            #expect(rejected.status == 404 && rejectedAgain.status == 404)
            #expect(rejectedAgain.json["reason"] as? String == rejected.json["reason"] as? String)

            // So is an unchanged one (from the audit, since the tracker does not hold it any more).
            let scaled = try await client.call(.post, "/v1/services/payments-api/scale", json: #"{"replicas":2}"#, headers: ["Idempotency-Key": "k3"])
            let scaledAgain = try await client.call(.post, "/v1/services/payments-api/scale", json: #"{"replicas":2}"#, headers: ["Idempotency-Key": "k3"])
            #expect(scaled.status == 200 && scaled.json["outcome"] as? String == "unchanged", "\(scaled.text)")
            #expect(scaledAgain.status == 200 && scaledAgain.json["outcome"] as? String == "unchanged", "\(scaledAgain.text)")
            #expect(scaledAgain.json["reason"] as? String == scaled.json["reason"] as? String && scaledAgain.json["commandId"] as? String == scaled.json["commandId"] as? String)
        }
    }

    @Test func healthAndMetricsNeedNoToken() async throws {
        try await ServerHarness.with { _, client in
            #expect(try await client.call(.get, "/healthz", token: nil).status == 200)
            _ = try await client.call(.post, "/v1/services/ghost/scale", json: #"{"replicas":2}"#)
            let metrics = try await client.call(.get, "/metrics", token: nil)
            #expect(metrics.status == 200)
            #expect(metrics.text.contains(#"wharf_commands_total{type="ScaleService",outcome="rejected",repeat="false"} 1"#), "\(metrics.text)")
        }
    }
}

/// One request that must be refused at the door.
struct DoorCase {
    var label: String
    var status: Int
    var request: (any TestClientProtocol) async throws -> (status: Int, json: [String: Any], text: String)
    init(_ label: String, _ status: Int, _ request: @escaping (any TestClientProtocol) async throws -> (status: Int, json: [String: Any], text: String)) {
        self.label = label; self.status = status; self.request = request
    }
}
