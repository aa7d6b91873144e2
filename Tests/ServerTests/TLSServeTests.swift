import AsyncHTTPClient
import EventLog
import Foundation
import NIOCore
import NIOSSL
import Testing
import TestSupport

/// `wharf serve` with WHARF_TLS_CERT and WHARF_TLS_KEY answers over HTTPS (with a certificate this test makes), and
/// not over plain HTTP.
@Suite struct TLSServeTests {
    @Test(.timeLimit(.minutes(3))) func theAPIServesHTTPS() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let made = try ExternalTool.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                         "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1",
                                         "-addext", "subjectAltName=IP:127.0.0.1"])
        #expect(made.status == 0, "\(made.output)")
        let scratch = try await Database.createScratch(base: try TestEnvironment.postgres(), prefix: "wharf_tls_test", logger: TestEnvironment.logger)
        let url = "postgres://\(scratch.username)@\(scratch.host ?? "127.0.0.1"):\(scratch.port)/\(scratch.database)"
        let token = "tls-test-admin-token-0123456789"
        let port = try TestEnvironment.freePort()
        let serve = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dir + "/data",
                                     environment: ["WHARF_TLS_CERT": dir + "/cert.pem", "WHARF_TLS_KEY": dir + "/key.pem"])
        defer { serve.terminate() }

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(dir + "/cert.pem"))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        func get(_ scheme: String, _ path: String) async throws -> Int {
            var request = HTTPClientRequest(url: "\(scheme)://127.0.0.1:\(port)\(path)")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            return Int(try await client.execute(request, timeout: .seconds(5)).status.code)
        }
        let deadline = ContinuousClock.now + .seconds(60)
        var status = 0
        while ContinuousClock.now < deadline {
            status = (try? await get("https", "/healthz")) ?? 0
            if status == 200 { break }
            if !serve.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(status == 200, "healthz over https: \(serve.log.suffix(2000))")
        #expect(try await get("https", "/v1/whoami") == 200)
        #expect(serve.log.contains("Wharf is listening on https://"))
        // The CLI trusts the test's own CA with --ca-file, and refuses the server without it.
        let cli = ["auth", "whoami", "--url", "https://127.0.0.1:\(port)", "--token", token]
        let trusted = try ExternalTool.run([try TestEnvironment.wharfBinary()] + cli + ["--ca-file", dir + "/cert.pem"])
        #expect(trusted.status == 0 && trusted.output.contains("admin"), "\(trusted.output)")
        let untrusted = try ExternalTool.run([try TestEnvironment.wharfBinary()] + cli)
        #expect(untrusted.status != 0, "\(untrusted.output)")
        let plain = try? await get("http", "/healthz")
        #expect(plain != 200, "plain HTTP is not served")
        try await client.shutdown()
        serve.terminate()
        await serve.waitForExit()
        try? await Database.dropScratch(scratch, logger: TestEnvironment.logger)
    }
}
