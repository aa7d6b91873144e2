import AsyncHTTPClient
import EventLog
import Events
import Foundation
import NIOCore
import PostgresNIO
import Testing
import TestSupport

/// Three `wharf serve` processes on one Kafka (Tansu, started by ops/test) and one Postgres share the partitions
/// of the command processor and the projector. One is killed with `kill -9` in the middle of a burst: the survivors
/// take its partitions, nothing acknowledged is lost, nothing is applied twice, and the projections equal a
/// rebuild from the log, row for row.
@Suite struct KafkaScaleOutTests {
    static let partitions = 6

    @Test(.timeLimit(.minutes(6))) func survivorsTakeOverAfterKillNine() async throws {
        let logger = TestEnvironment.logger
        let brokers = try TestEnvironment.kafkaBrokers()
        let scratch = try await Database.createScratch(base: try TestEnvironment.postgres(), prefix: "wharf_scaleout_test", logger: logger)
        let url = "postgres://\(scratch.username)@\(scratch.host ?? "127.0.0.1"):\(scratch.port)/\(scratch.database)"
        let prefix = TestEnvironment.uniqueTopicPrefix("scaleout")
        let token = "scale-out-test-token-0123456789"
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-scaleout-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let kafkaEnv = ["WHARF_EVENT_LOG": "kafka://\(brokers)", "WHARF_KAFKA_PARTITIONS": "\(Self.partitions)",
                        "WHARF_KAFKA_TOPIC_PREFIX": prefix]

        // The first process creates the topics and the signing key the others share.
        var nodes: [WharfProcess] = []
        defer { nodes.forEach { $0.terminate() } }
        nodes.append(try WharfProcess(databaseURL: url, token: token, port: try TestEnvironment.freePort(), dataDirectory: dataDirectory,
                                      partitions: Self.partitions, environment: kafkaEnv))
        try await nodes[0].waitUntilHealthy()
        for _ in 1..<3 {
            nodes.append(try WharfProcess(databaseURL: url, token: token, port: try TestEnvironment.freePort(), dataDirectory: dataDirectory,
                                          partitions: Self.partitions, environment: kafkaEnv))
        }
        for node in nodes { try await node.waitUntilHealthy() }

        let database = try await Database.open(scratch, logger: logger)
        defer { Task { await database.close() } }
        // Every process gets a share of both groups' partitions.
        try await waitUntil("each of the 3 processes owns partitions of the processor and the projector", timeout: .seconds(30)) {
            let processors = try await owners(database, group: "command-processor"), projectors = try await owners(database, group: "projector")
            return processors == 3 && projectors == 3
        }

        // 150 services x 4 intents from 12 clients, spread over the three processes.
        let acks = AckLog()
        let victim = nodes[1]
        let killAfter = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<12 {
                let node = nodes[c % 3]
                group.addTask {
                    for s in stride(from: c, to: 150, by: 12) {
                        let name = "svc-\(s)"
                        let intents: [(String, String)] = [
                            ("/v1/services", #"{"name":"\#(name)","businessLine":"scale","image":"reg.local/s/\#(name):1","replicas":1}"#),
                            ("/v1/services/\(name)/scale", #"{"replicas":2}"#),
                            ("/v1/services/\(name)/upgrade", #"{"image":"reg.local/s/\#(name):2"}"#),
                            ("/v1/services/\(name)/scale", #"{"replicas":3}"#),
                        ]
                        for (i, (path, body)) in intents.enumerated() {
                            let ack: Ack?
                            do {
                                ack = try await postIntent(port: node.port, token: token, path: path, body: body, idempotencyKey: "\(name)-\(i)",
                                                           timeout: .seconds(30))
                            } catch { return }   // its process died
                            if let ack, acks.append(ack) == killAfter { await victim.kill9() }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        if victim.process.isRunning { await victim.kill9() }
        let acknowledged = acks.all
        #expect(acknowledged.count > killAfter + 50, "the survivors kept answering after the kill")
        #expect(acknowledged.count < 600, "the kill landed mid-burst")
        try await waitUntil("the two survivors own every partition", timeout: .seconds(30)) {
            let processors = try await owners(database, group: "command-processor"), projectors = try await owners(database, group: "projector")
            return processors == 2 && projectors == 2
        }

        let log = try await TestEnvironment.kafkaLog(database: database, prefix: prefix)
        defer { log.close() }
        // Every logged command gets decided exactly once.
        var commands = 0, causes: [String: Int] = [:]
        try await waitUntil("every logged command is decided", timeout: .seconds(60)) {
            commands = 0; causes = [:]
            for p in 0..<Self.partitions {
                commands += try await readAll(log, Topics.commands, p, includeChain: false).count
                for record in try await readAll(log, Topics.events, p, includeChain: false) {
                    causes[try CanonicalJSON.decode(EventEnvelope.self, from: record.value).commandId, default: 0] += 1
                }
            }
            return causes.count == commands
        }
        // On failure, what the processes said about halts and errors.
        func said() -> String {
            nodes.flatMap { $0.log.split(separator: "\n").filter { $0.contains("halt") || $0.contains("rror") || $0.contains("critical") } }
                .map { String($0.prefix(300)) }.joined(separator: "\n")
        }
        #expect(causes.count == commands, "each logged command yields an event\n\(said())")
        #expect(causes.values.allSatisfy { $0 == 1 }, "no command was decided twice")

        // Nothing acknowledged is lost: each acknowledged command is in the audit with the outcome it was answered with.
        try await waitUntil("projections catch up", timeout: .seconds(60)) {
            var done = true
            for p in 0..<Self.partitions {
                let last = try await readAll(log, Topics.events, p, includeChain: false).last?.offset ?? -1
                if try await projected(database, partition: p) <= last { done = false }
            }
            return done
        }
        let audit = try await auditOutcomes(database)
        for ack in acknowledged {
            #expect(audit[ack.commandId] == ack.outcome, "acknowledged \(ack.commandId) (\(ack.outcome) at \(ack.position))")
        }

        for node in nodes { node.terminate() }
        let env = kafkaEnv.merging(["WHARF_DATABASE_URL": url, "WHARF_DATA_DIR": dataDirectory]) { $1 }
        let live = try await ReadModelDump.dump(database)
        let rebuild = try ExternalTool.run([try TestEnvironment.wharfBinary(), "projections", "rebuild"], env: env)
        #expect(rebuild.status == 0, "\(rebuild.output)")
        #expect(try await ReadModelDump.dump(database) == live, "projection tables equal a rebuild from the log, row for row")

        let verify = try ExternalTool.run([try TestEnvironment.wharfBinary(), "audit", "verify", "--json",
                                           "--trusted-keys", dataDirectory + "/checkpoint-signing.key.pub"], env: env, stdoutOnly: true)
        #expect(verify.status == 0, "\(verify.output)")
        let report = try #require(try? JSONSerialization.jsonObject(with: Data(verify.output.utf8)) as? [String: Any], "\(verify.output)")
        #expect(report["ok"] as? Bool == true && (report["checkpointsChecked"] as? Int ?? 0) > 0, "checkpoints were checked: \(verify.output)\n\(said())")
        #expect(VerifyJSON.checkpointsChecked(report, topic: "commands") > 0, "the commands chain was checked too: \(verify.output)")
        try? await Database.dropScratch(scratch, logger: logger)
    }

    /// How many sessions hold partition locks of `group` (see PostgresPartitionOwnership).
    func owners(_ database: Database, group: String) async throws -> Int {
        let key = Int64(Partitioner.partition(for: "group:" + group, partitions: Int(Int32.max)))
        let rows = try await database.client.query("""
            SELECT count(DISTINCT pid)::int FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
               AND classid = \(key)::oid AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """)
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }

    func projected(_ database: Database, partition: Int) async throws -> Int64 {
        let rows = try await database.client.query("SELECT next_offset FROM wharf_read.offsets WHERE partition = \(partition)")
        for try await next in rows.decode(Int64.self) { return next }
        return 0
    }

    func waitUntil(_ what: String, timeout: Duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("timed out waiting until \(what)")
    }
}
