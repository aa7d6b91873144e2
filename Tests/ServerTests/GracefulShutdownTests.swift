import AsyncHTTPClient
import EventLog
import Events
import Foundation
import NIOCore
import PostgresNIO
import Testing
import TestSupport

/// SIGTERM in the middle of a burst: `wharf serve` stops within 10 s, and after a restart every acknowledged
/// command is in the audit with the outcome it was answered with. A start that fails after the embedded Postgres
/// came up stops that Postgres again.
@Suite struct GracefulShutdownTests {
    @Test(.timeLimit(.minutes(4))) func sigtermMidBurstExitsWithin10sAndLosesNothingAcknowledged() async throws {
        let logger = TestEnvironment.logger
        let scratch = try await Database.createScratch(base: try TestEnvironment.postgres(), prefix: "wharf_term_test", logger: logger)
        let url = "postgres://\(scratch.username)@\(scratch.host ?? "127.0.0.1"):\(scratch.port)/\(scratch.database)"
        let token = "term-test-token-0123456789"
        let port = try TestEnvironment.freePort()
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-term-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }

        let first = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dataDirectory)
        defer { first.terminate() }
        try await first.waitUntilHealthy()
        let acks = AckLog()
        let termAfter = 150
        let stopped = StopWatch()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<12 {
                group.addTask {
                    for s in stride(from: c, to: 120, by: 12) {
                        let name = "svc-\(s)"
                        for (i, (path, body)) in [("/v1/services", #"{"name":"\#(name)","businessLine":"t","image":"reg.local/t:1","replicas":1}"#),
                                                  ("/v1/services/\(name)/scale", #"{"replicas":2}"#),
                                                  ("/v1/services/\(name)/upgrade", #"{"image":"reg.local/t:2"}"#)].enumerated() {
                            let ack: Ack?
                            do {
                                ack = try await postIntent(port: port, token: token, path: path, body: body, idempotencyKey: "\(name)-\(i)",
                                                           timeout: .seconds(20))
                            } catch { return }   // the server has gone
                            if let ack, acks.append(ack) == termAfter {
                                stopped.start()
                                kill(first.process.processIdentifier, SIGTERM)
                                // Timed on its own: clients may still be waiting on answers that will not come.
                                Task.detached {
                                    while first.process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
                                    stopped.stop()
                                }
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let exitDeadline = ContinuousClock.now + .seconds(15)
        while first.process.isRunning, ContinuousClock.now < exitDeadline { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(50))
        let took = try #require(stopped.elapsed, "the exit was timed")
        #expect(!first.process.isRunning, "wharf serve still runs 15 s after SIGTERM:\n\(first.log.suffix(3000))")
        #expect(took < .seconds(10), "SIGTERM to exit took \(took)")
        #expect(first.process.terminationStatus == 0, "a graceful stop exits 0: \(first.log.suffix(2000))")
        let acknowledged = acks.all
        #expect(acknowledged.count >= termAfter && acknowledged.count < 360, "the signal landed mid-burst (\(acknowledged.count) acknowledged)")

        let second = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dataDirectory)
        defer { second.terminate() }
        try await second.waitUntilHealthy()
        let database = try await Database.open(scratch, logger: logger)
        let deadline = ContinuousClock.now + .seconds(60)
        var missing = acknowledged
        while !missing.isEmpty, ContinuousClock.now < deadline {
            let audit = try await auditOutcomes(database)
            missing = acknowledged.filter { audit[$0.commandId] != $0.outcome }
            if !missing.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(missing.isEmpty, "acknowledged but not in the audit with that outcome: \(missing.prefix(5).map(\.commandId))")
        second.terminate()
        await database.close()
        try? await Database.dropScratch(scratch, logger: logger)
    }

    @Test(.timeLimit(.minutes(3))) func aFailedStartStopsTheEmbeddedPostgresItStarted() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-badstart-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let run = try ExternalTool.run([try TestEnvironment.wharfBinary(), "serve"], env: [
            "WHARF_DATA_DIR": dataDirectory, "WHARF_DATABASE_URL": "", "WHARF_BOOTSTRAP_TOKEN": "short",
            "WHARF_HTTP_PORT": String(try TestEnvironment.freePort()),
        ])
        #expect(run.status != 0, "a too short WHARF_BOOTSTRAP_TOKEN is refused: \(run.output)")
        #expect(run.output.contains("WHARF_BOOTSTRAP_TOKEN must be at least 16 characters"), "\(run.output)")
        #expect(run.output.contains("embedded Postgres at"), "the embedded Postgres had started: \(run.output)")
        // The cluster it started is stopped again: no postmaster.pid is left behind in the cluster directory.
        let cluster = try Self.clusterDirectory(dataDirectory: dataDirectory, output: run.output)
        #expect(!FileManager.default.fileExists(atPath: cluster + "/postmaster.pid"), "Postgres still runs in \(cluster)")
    }

    /// Where the embedded cluster lives: under the data directory, or where `postgres-location` points.
    static func clusterDirectory(dataDirectory: String, output: String) throws -> String {
        let line = try #require(output.split(separator: "\n").first { $0.contains("embedded Postgres at ") })
        let after = line.range(of: "embedded Postgres at ")!.upperBound
        return String(line[after...].prefix { $0 != " " })
    }
}

/// Wall time between two moments set by different tasks.
final class StopWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var started: ContinuousClock.Instant?
    private var stopped: ContinuousClock.Instant?
    func start() { lock.withLock { if started == nil { started = .now } } }
    func stop() { lock.withLock { if stopped == nil { stopped = .now } } }
    var elapsed: Duration? { lock.withLock { started.flatMap { s in stopped.map { $0 - s } } } }
}
