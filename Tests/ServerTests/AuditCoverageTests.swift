import EventLog
import Events
import Foundation
import Testing
import TestSupport

/// Every audit item says whether a checkpoint of this installation covers it: a new one is signed within the
/// checkpoint interval (10 s, as in production).
@Suite struct AuditCoverageTests {
    @Test(.timeLimit(.minutes(2))) func auditItemsSayWhetherACheckpointCoversThem() async throws {
        try await ServerHarness.with(signer: CheckpointSigner(privateKey: .init())) { harness, client in
            func items(_ after: String) async throws -> [[String: Any]] {
                (try await client.call(.get, "/v1/audit?aggregate=service/pay-api&after=\(after)").json["items"] as? [[String: Any]]) ?? []
            }
            let created = try await client.call(.post, "/v1/services", json: #"{"name": "pay-api", "businessLine": "pay", "image": "r.example.com/p:1", "replicas": 1}"#)
            #expect(created.status == 201, "\(created.text)")
            // The partition's first append after the processor started is signed at once (nothing covered it yet).
            var rows = try await items(created.json["position"] as? String ?? "")
            let deadline = ContinuousClock.now + .seconds(20)
            while rows.first?["covered"] as? Bool != true, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                rows = try await items(created.json["position"] as? String ?? "")
            }
            #expect(rows.first?["covered"] as? Bool == true, "\(rows)")
            // The next write inside the interval is not signed yet; within the interval it is. (Under load the write may
            // come more than the interval after the first checkpoint, and is then signed at once: only checked when not.)
            let partition = try #require(LogPosition(created.json["position"] as? String ?? "")?.partition)
            let firstSigned = try await harness.store.log.read(topic: Topics.checkpoints, partition: partition, from: 0, limit: 10)
                .compactMap { try? CanonicalJSON.decode(Checkpoint.self, from: $0.value).time }.compactMap(WharfTime.parse).max()
            let writeAt = Date()
            let scaled = try await client.call(.post, "/v1/services/pay-api/scale", json: #"{"replicas": 3}"#)
            rows = try await items(scaled.json["position"] as? String ?? "")
            if let firstSigned, Date().timeIntervalSince(firstSigned) < 8, writeAt.timeIntervalSince(firstSigned) < 8 {
                #expect(rows.last?["covered"] as? Bool == false, "\(rows)")
            }
            let signed = ContinuousClock.now + .seconds(25)
            while rows.last?["covered"] as? Bool != true, ContinuousClock.now < signed {
                try await Task.sleep(for: .milliseconds(500))
                rows = try await items(scaled.json["position"] as? String ?? "")
            }
            #expect(rows.count == 2 && rows.allSatisfy { $0["covered"] as? Bool == true }, "\(rows)")
        }
    }
}
