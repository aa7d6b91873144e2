import AsyncHTTPClient
import EventLog
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TestSupport

/// Two real `wharf serve` processes on one database: a token revoked through one is refused by the other within a
/// second; the first admin's token (from WHARF_BOOTSTRAP_TOKEN) is an ordinary token, revocable, and a restart
/// does not bring it back.
@Suite struct TokenRevocationTests {
    func call(_ port: Int, _ method: HTTPMethod, _ path: String, token: String, body: String? = nil) async throws -> (status: Int, json: [String: Any]) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { request.body = .bytes(ByteBuffer(string: body)); request.headers.add(name: "Content-Type", value: "application/json") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:])
    }

    @Test(.timeLimit(.minutes(4))) func aRevokedTokenIsRefusedByTheOtherProcessWithinOneSecond() async throws {
        let logger = TestEnvironment.logger
        let scratch = try await Database.createScratch(base: try TestEnvironment.postgres(), prefix: "wharf_revoke_test", logger: logger)
        let url = "postgres://\(scratch.username)@\(scratch.host ?? "127.0.0.1"):\(scratch.port)/\(scratch.database)"
        let admin = "revoke-test-admin-token-0123456789"
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-revoke-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let (portA, portB) = (try TestEnvironment.freePort(), try TestEnvironment.freePort())
        let a = try WharfProcess(databaseURL: url, token: admin, port: portA, dataDirectory: dataDirectory)
        defer { a.terminate() }
        try await a.waitUntilHealthy()
        let b = try WharfProcess(databaseURL: url, token: admin, port: portB, dataDirectory: dataDirectory)
        defer { b.terminate() }
        try await b.waitUntilHealthy()

        let created = try await call(portA, .POST, "/v1/users", token: admin, body: #"{"name": "alice", "displayName": "Alice", "email": "alice@example.com"}"#)
        #expect(created.status == 201, "\(created.json)")
        let issued = try await call(portA, .POST, "/v1/users/alice/tokens?after=\(created.json["position"] as? String ?? "")", token: admin,
                                    body: #"{"description": "laptop"}"#)
        let token = try #require(issued.json["token"] as? String, "\(issued.json)")
        let id = try #require(issued.json["id"] as? String)
        // Usable on B once projected (B may own none of the partitions involved).
        let usable = ContinuousClock.now + .seconds(10)
        while try await call(portB, .GET, "/v1/whoami", token: token).status != 200, ContinuousClock.now < usable {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await call(portB, .GET, "/v1/whoami", token: token).json["actor"] as? String == "user:alice")

        let revoked = try await call(portA, .DELETE, "/v1/tokens/\(id)", token: admin)
        #expect(revoked.status == 200, "\(revoked.json)")
        let since = ContinuousClock.now
        var refusedAfter: Duration?
        while ContinuousClock.now - since < .seconds(5) {
            if try await call(portB, .GET, "/v1/whoami", token: token).status == 401 { refusedAfter = ContinuousClock.now - since; break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let took = try #require(refusedAfter, "process B still accepts the revoked token after 5 s")
        print("TokenRevocationTests: the other process refused the revoked token after \(took)")
        #expect(took <= .seconds(1), "refused by the other process after \(took)")
        #expect(try await call(portA, .GET, "/v1/whoami", token: token).status == 401)

        // The first admin's token is revocable too, and a restart with the same WHARF_BOOTSTRAP_TOKEN does not revive it.
        let second = try await call(portA, .POST, "/v1/users/admin/tokens", token: admin, body: #"{"description": "spare"}"#)
        let spare = try #require(second.json["token"] as? String, "\(second.json)")
        let projected = ContinuousClock.now + .seconds(10)
        while try await call(portA, .GET, "/v1/whoami", token: spare).status != 200, ContinuousClock.now < projected {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await call(portA, .DELETE, "/v1/tokens/bootstrap", token: spare).status == 200)
        let gone = ContinuousClock.now + .seconds(3)
        while try await call(portA, .GET, "/v1/whoami", token: admin).status != 401, ContinuousClock.now < gone {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await call(portA, .GET, "/v1/whoami", token: admin).status == 401)
        b.terminate()
        a.terminate()
        await a.waitForExit(); await b.waitForExit()
        let restarted = try WharfProcess(databaseURL: url, token: admin, port: portA, dataDirectory: dataDirectory)
        defer { restarted.terminate() }
        try await restarted.waitUntilHealthy()
        #expect(try await call(portA, .GET, "/v1/whoami", token: admin).status == 401, "the revoked bootstrap token stays revoked")
        #expect(try await call(portA, .GET, "/v1/whoami", token: spare).status == 200)
        try? await Database.dropScratch(scratch, logger: logger)
    }
}
