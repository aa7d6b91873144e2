import AsyncHTTPClient
import Foundation
import NIOCore
import TestSupport

/// A real `wharf serve` child process (the built binary), for tests that kill it.
final class WharfProcess {
    let process = Process()
    let port: Int
    let logFile: URL

    /// `environment` adds to or overrides the settings below (e.g. WHARF_EVENT_LOG for Kafka).
    init(databaseURL: String, token: String, port: Int, dataDirectory: String, partitions: Int = 4, environment: [String: String] = [:]) throws {
        self.port = port
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-serve-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.wharfBinary())
        process.arguments = ["serve"]
        var env = ProcessInfo.processInfo.environment
        env["WHARF_DATABASE_URL"] = databaseURL
        env["WHARF_HTTP_PORT"] = "\(port)"
        env["WHARF_BOOTSTRAP_TOKEN"] = token
        env["WHARF_PARTITIONS"] = "\(partitions)"
        env["WHARF_DATA_DIR"] = dataDirectory
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func waitUntilHealthy(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = "no answer"
        while ContinuousClock.now < deadline {
            if !process.isRunning { throw TestEnvironment.Missing(description: "wharf serve exited: \(log.suffix(2000))") }
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz")
            request.method = .GET
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(2))
                if response.status == .ok { return }
                last = "\(response.status.code) \(String(buffer: try await response.body.collect(upTo: 1 << 16)))"
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestEnvironment.Missing(description: "wharf serve did not become healthy (last /healthz: \(last)): \(log.suffix(2000))")
    }

    func kill9() async {
        kill(process.processIdentifier, SIGKILL)
        await waitForExit()
    }

    func terminate() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<300 where process.isRunning { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    func waitForExit() async {
        for _ in 0..<500 where process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }
}
