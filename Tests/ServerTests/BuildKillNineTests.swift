import AsyncHTTPClient
import EventLog
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TestSupport

/// `kill -9` of the `wharf serve` that runs a build, mid-script: the script's processes die with it (nothing keeps
/// building for a dead worker), the restarted node fails the build as "worker lost" (it sees the old runner's process
/// is gone, without waiting for its heartbeat to go stale), the service keeps its image, and the build can be retried.
@Suite(.serialized) struct BuildKillNineTests: CallsWharfProcess {
    @Test(.timeLimit(.minutes(5))) func killNineMidBuildEndsAsWorkerLost() async throws {
        let (registry, baseImage) = try TestEnvironment.registry()
        let git = try CodeflowBuildTests.GitServer()
        defer { git.stop() }
        _ = try git.push(["app.sh": "echo v1\n"], message: "v1")
        let scratch = try await Database.createScratch(base: try TestEnvironment.postgres(), prefix: "wharf_build_kill", logger: TestEnvironment.logger)
        let url = "postgres://\(scratch.username)@\(scratch.host ?? "127.0.0.1"):\(scratch.port)/\(scratch.database)"
        let token = "build-kill-test-token-0123456789"
        let port = try TestEnvironment.freePort()
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-build-kill-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let environment = ["WHARF_REGISTRY": registry]
        // A sleep only this test's script runs (fractional seconds make it unique), so leftovers are found by name.
        let marker = "sleep 299.\(UInt32.random(in: 1_000_000...9_999_999))"

        let first = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dataDirectory, environment: environment)
        defer { first.terminate() }
        try await first.waitUntilHealthy()
        let line = try await call(port, token, .POST, "/v1/business-lines", #"{"name": "pay", "displayName": "Payments"}"#)
        let service = try await call(port, token, .POST, "/v1/services?after=\(line.json["position"] as? String ?? "")",
                                     #"{"name": "pay-app", "businessLine": "pay", "image": "registry.example.com/pay/app:0", "replicas": 1}"#)
        #expect(service.status == 201, "\(service.text)")
        let flow = try await call(port, token, .PUT, "/v1/codeflows/pay-app?after=\(service.json["position"] as? String ?? "")", """
            {"service": "pay-app", "repository": "\(git.url)", "branches": ["main"],
             "buildScript": \(CodeflowBuildTests.json("echo started; \(marker)")),
             "artifactPath": "app.sh", "startCommand": "sh app.sh", "baseImage": "\(baseImage)", "webhookSecret": "kill-test-secret-0123456789"}
            """)
        #expect(flow.status == 201, "\(flow.text)")
        let started = try await call(port, token, .POST, "/v1/codeflows/pay-app/builds?after=\(flow.json["position"] as? String ?? "")", #"{"ref": "main"}"#)
        let id = try #require(((started.json["events"] as? [[String: Any]])?.first?["payload"] as? [String: Any])?["id"] as? String, "\(started.text)")

        // Kill the node while the script runs.
        let logFile = dataDirectory + "/builds/logs/\(id).log"
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline, !((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").contains("started") {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try String(contentsOfFile: logFile, encoding: .utf8).contains("started"), "the script ran: \(first.log.suffix(2000))")
        let running = try await call(port, token, .GET, "/v1/builds/\(id)")
        #expect(running.json["state"] as? String == "running", "\(running.text)")
        #expect(try ExternalTool.run(["pgrep", "-f", marker]).status == 0, "the script's process is found by its marker")
        await first.kill9()

        // Nothing of the build outlives its worker.
        var leftover = try ExternalTool.run(["pgrep", "-f", marker])
        for _ in 0..<50 where leftover.status == 0 {
            try await Task.sleep(for: .milliseconds(100))
            leftover = try ExternalTool.run(["pgrep", "-f", marker])
        }
        #expect(leftover.status != 0, "the build's processes died with the worker: \(leftover.output)")

        // The restarted node fails the build as worker lost; the service keeps its image.
        let restartedAt = ContinuousClock.now
        let second = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dataDirectory, environment: environment)
        defer { second.terminate() }
        try await second.waitUntilHealthy()
        var build: (status: Int, text: String, json: [String: Any]) = (0, "", [:])
        while ContinuousClock.now - restartedAt < .seconds(90) {
            build = try await call(port, token, .GET, "/v1/builds/\(id)")
            if build.json["state"] as? String != "running" { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let waited = ContinuousClock.now - restartedAt
        #expect(build.json["state"] as? String == "failed" && (build.json["reason"] as? String ?? "").hasPrefix("worker lost"), "\(build.text)")
        #expect(waited < .seconds(25), "a dead runner on this host is recognised at once, not after its heartbeat goes stale (took \(waited))")
        let after = try await call(port, token, .GET, "/v1/services/pay-app")
        #expect(after.json["image"] as? String == "registry.example.com/pay/app:0", "\(after.text)")
        #expect(build.json["image"] == nil && build.json["digest"] == nil, "no image is recorded for a lost build: \(build.text)")

        // It can be retried; the retry is cancelled here so it does not sleep on.
        let retry = try await call(port, token, .POST, "/v1/builds/\(id)/retry")
        #expect(retry.status == 201, "\(retry.text)")
        if let newId = ((retry.json["events"] as? [[String: Any]])?.first?["payload"] as? [String: Any])?["id"] as? String {
            let cancel = try await call(port, token, .POST, "/v1/builds/\(newId)/cancel")
            #expect(cancel.status == 200, "\(cancel.text)")
        }
        second.terminate()
        for _ in 0..<50 where (try ExternalTool.run(["pgrep", "-f", marker])).status == 0 { try await Task.sleep(for: .milliseconds(100)) }
        _ = try? ExternalTool.run(["pkill", "-9", "-f", marker])
    }
}
