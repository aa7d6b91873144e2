import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
@testable import Server
import Testing

/// A 500 answers `{"error": "internal error", "errorId": "..."}` and never the failure's own text; the log has
/// the details under the same id.
@Suite struct ErrorMiddlewareTests {
    struct LeakyFailure: Error, CustomStringConvertible {
        var description: String { "connection to postgres://wharf:hunter2@10.9.8.7/wharf refused in table wharf_api.tokens" }
    }

    /// Keeps every message logged, with its metadata.
    final class LogRecorder: LogHandler, @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            lock.withLock { lines.append("\(event.level) \(event.message) \(all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))") }
        }
        var recorded: [String] { lock.withLock { lines } }
    }

    @Test func aFiveHundredCarriesOnlyAnErrorIdAndTheLogHasTheDetails() async throws {
        let recorder = LogRecorder()
        let logger = Logger(label: "wharf-test") { _ in recorder }
        let router = Router(context: WharfRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.get("/boom") { _, _ -> String in throw LeakyFailure() }
        router.get("/refused") { _, _ -> String in throw APIError(.conflict, "already exists", field: "name") }
        let app = Application(router: router, logger: logger)
        try await app.test(.router) { client in
            let response = try await client.executeRequest(uri: "/boom", method: .get, headers: [:], body: nil)
            #expect(response.status == .internalServerError)
            #expect(response.headers[.contentType] == "application/json")
            let text = String(buffer: response.body)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String], "\(text)")
            #expect(Set(body.keys) == ["error", "errorId"], "\(text)")
            #expect(body["error"] == "internal error")
            let id = try #require(body["errorId"])
            #expect(id.count == 12 && id.allSatisfy(\.isHexDigit), "\(id)")
            for secret in ["hunter2", "postgres://", "10.9.8.7", "wharf_api", "LeakyFailure"] {
                #expect(!text.contains(secret), "the answer leaks \(secret): \(text)")
            }
            let logged = recorder.recorded.filter { $0.contains(id) }
            #expect(logged.count == 1 && logged[0].hasPrefix("error ") && logged[0].contains("hunter2") && logged[0].contains("errorId=\(id)"),
                    "\(recorder.recorded)")

            let second = try await client.executeRequest(uri: "/boom", method: .get, headers: [:], body: nil)
            let secondBody = try JSONSerialization.jsonObject(with: Data(String(buffer: second.body).utf8)) as? [String: String]
            #expect(secondBody?["errorId"] != id, "each failure gets its own id")

            // Answers that are already HTTP errors pass unchanged.
            let refused = try await client.executeRequest(uri: "/refused", method: .get, headers: [:], body: nil)
            #expect(refused.status == .conflict)
            #expect(String(buffer: refused.body) == #"{"error":"already exists","field":"name"}"#)
        }
    }
}
