import AsyncHTTPClient
import EventLog
import Events
import Foundation
import NIOCore
import PostgresNIO
import Testing
import TestSupport

/// `kill -9` in the middle of a burst of 1,000 commands (snapshots being written every 25 events), then a restart
/// from those snapshots: nothing acknowledged is lost, nothing is applied twice, and the projection tables equal
/// what `wharf projections rebuild` produces, row for row.
@Suite struct CrashRecoveryTests {
    @Test(.timeLimit(.minutes(5))) func killNineDuringABurst() async throws {
        let logger = TestEnvironment.logger
        let scratch = try await Database.createScratch(base: try TestEnvironment.postgres(), prefix: "wharf_crash_test", logger: logger)
        let url = "postgres://\(scratch.username)@\(scratch.host ?? "127.0.0.1"):\(scratch.port)/\(scratch.database)"
        let token = "crash-test-token-0123456789"
        let port = try TestEnvironment.freePort()
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }

        // Snapshots every 25 events per partition, so the kill lands among snapshot writes too.
        let snapshotEvery = ["WHARF_SNAPSHOT_EVERY": "25"]
        let first = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dataDirectory, environment: snapshotEvery)
        defer { first.terminate() }
        try await first.waitUntilHealthy()

        // 200 services x 5 intents, 16 clients each working through its own services in order.
        let acks = AckLog()
        let killAfter = 300
        let clients = 16
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<clients {
                group.addTask {
                    for s in stride(from: c, to: 200, by: clients) {
                        let name = "svc-\(s)"
                        let intents: [(String, String)] = [
                            ("/v1/services", #"{"name":"\#(name)","businessLine":"crash","image":"reg.local/c/\#(name):1","replicas":1}"#),
                            ("/v1/services/\(name)/scale", #"{"replicas":2}"#),
                            ("/v1/services/\(name)/scale", #"{"replicas":3}"#),
                            ("/v1/services/\(name)/upgrade", #"{"image":"reg.local/c/\#(name):2"}"#),
                            ("/v1/services/\(name)/scale", #"{"replicas":4}"#),
                        ]
                        for (i, (path, body)) in intents.enumerated() {
                            let ack: Ack?
                            do {
                                ack = try await postIntent(port: port, token: token, path: path, body: body, idempotencyKey: "\(name)-\(i)",
                                                           timeout: .seconds(20))
                            } catch { return }   // the server died
                            if let ack, acks.append(ack) == killAfter { await first.kill9() }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        if first.process.isRunning { await first.kill9() }
        let acknowledged = acks.all
        #expect(acknowledged.count >= killAfter)
        #expect(acknowledged.count < 1000, "the kill landed mid-burst")

        let second = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dataDirectory, environment: snapshotEvery)
        defer { second.terminate() }
        try await second.waitUntilHealthy()

        let database = try await Database.open(scratch, logger: logger)
        let log = try await PostgresEventLog.open(database: database, listen: false)
        // Every logged command gets decided after the restart.
        let deadline = ContinuousClock.now + .seconds(60)
        var commandsLogged: Int64 = 0, eventsLogged: Int64 = 0
        while ContinuousClock.now < deadline {
            commandsLogged = 0; eventsLogged = 0
            for p in 0..<4 {
                commandsLogged += try await log.endOffset(topic: Topics.commands, partition: p)
                eventsLogged += try await log.endOffset(topic: Topics.events, partition: p)
            }
            if eventsLogged == commandsLogged { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(eventsLogged == commandsLogged, "each logged command yields exactly one event (none lost, none decided twice)")
        var snapshots: Int64 = 0
        for try await n in try await database.client.query("SELECT count(*) FROM wharf_snapshots.processor").decode(Int64.self) { snapshots = n }
        #expect(snapshots > 0, "the processor wrote snapshots during the burst, so the restart resumed from them")

        // Nothing applied twice: every command id caused exactly one event.
        var causes: [String: Int] = [:]
        for p in 0..<4 {
            for record in try await log.read(topic: Topics.events, partition: p, from: 0, limit: 100_000) {
                causes[try CanonicalJSON.decode(EventEnvelope.self, from: record.value).commandId, default: 0] += 1
            }
        }
        #expect(causes.values.allSatisfy { $0 == 1 })

        // Nothing acknowledged is lost: each acknowledged command is in the audit with the outcome it was answered with.
        try await waitForProjections(database: database, log: log)
        let audit = try await auditOutcomes(database)
        for ack in acknowledged {
            #expect(audit[ack.commandId] == ack.outcome, "acknowledged \(ack.commandId) (\(ack.outcome) at \(ack.position))")
        }

        let live = try await ReadModelDump.dump(database)
        let rebuild = try ExternalTool.run([try TestEnvironment.wharfBinary(), "projections", "rebuild"], env: ["WHARF_DATABASE_URL": url])
        #expect(rebuild.status == 0, "\(rebuild.output)")
        let rebuilt = try await ReadModelDump.dump(database)
        #expect(rebuilt == live, "projection tables equal a rebuild from the log, row for row")

        let verify = try ExternalTool.run([try TestEnvironment.wharfBinary(), "audit", "verify", "--json",
                                           "--trusted-keys", dataDirectory + "/checkpoint-signing.key.pub"],
                                          env: ["WHARF_DATABASE_URL": url, "WHARF_DATA_DIR": dataDirectory], stdoutOnly: true)
        #expect(verify.status == 0, "\(verify.output)")
        let report = try #require(try? JSONSerialization.jsonObject(with: Data(verify.output.utf8)) as? [String: Any], "\(verify.output)")
        #expect(report["ok"] as? Bool == true && (report["checkpointsChecked"] as? Int ?? 0) > 0, "checkpoints were checked: \(verify.output)")
        #expect(VerifyJSON.checkpointsChecked(report, topic: "commands") > 0, "the commands chain was checked too: \(verify.output)")
        // A witness keeps the newest checkpoints outside the database; verify then requires the log to pass through them.
        let env = ["WHARF_DATABASE_URL": url, "WHARF_DATA_DIR": dataDirectory]
        let witnessFile = dataDirectory + "/witness.json"
        let exported = try ExternalTool.run([try TestEnvironment.wharfBinary(), "audit", "witness", "export", "--out", witnessFile], env: env)
        #expect(exported.status == 0, "\(exported.output)")
        let witnessed = try ExternalTool.run([try TestEnvironment.wharfBinary(), "audit", "verify", "--json", "--witness", witnessFile,
                                              "--trusted-keys", dataDirectory + "/checkpoint-signing.key.pub"], env: env, stdoutOnly: true)
        let witnessReport = try #require(try? JSONSerialization.jsonObject(with: Data(witnessed.output.utf8)) as? [String: Any], "\(witnessed.output)")
        #expect(witnessed.status == 0 && witnessReport["ok"] as? Bool == true && (witnessReport["witnessedChecked"] as? Int ?? 0) > 0,
                "\(witnessed.output)")
        let untrusted = try ExternalTool.run([try TestEnvironment.wharfBinary(), "audit", "verify"], env: env)
        #expect(untrusted.status != 0 && untrusted.output.contains("no trusted keys"), "verify refuses to run without trusted keys: \(untrusted.output)")

        second.terminate()
        log.close()
        await database.close()
        try? await Database.dropScratch(scratch, logger: logger)
    }

    func waitForProjections(database: Database, log: PostgresEventLog) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let rows = try await database.client.query("SELECT partition, next_offset FROM wharf_read.offsets")
            var progress: [Int: Int64] = [:]
            for try await (p, next) in rows.decode((Int, Int64).self) { progress[p] = next }
            var done = true
            for p in 0..<4 where (progress[p] ?? 0) < (try await log.endOffset(topic: Topics.events, partition: p)) { done = false }
            if done { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("projections did not catch up within 60 s")
    }
}
