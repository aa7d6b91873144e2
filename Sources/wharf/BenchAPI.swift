import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The bench's HTTP calls: bearer token, JSON in and out.
struct BenchAPI: Sendable {
    let base: String
    let token: String

    func call(_ method: HTTPMethod, _ path: String, _ body: String? = nil, headers: [String: String] = [:]) async throws
        -> (status: Int, text: String, json: [String: Any]) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if headers.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.headers.add(name: "Content-Type", value: "application/json"); request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let text = String(buffer: try await response.body.collect(upTo: 8 << 20))
        return (Int(response.status.code), text, (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:])
    }

    func expect(_ status: Int, _ method: HTTPMethod, _ path: String, _ body: String? = nil) async throws -> [String: Any] {
        let r = try await call(method, path, body)
        guard r.status == status else { throw ValidationError("\(method) \(path) answered \(r.status), not \(status): \(r.text)") }
        return r.json
    }

    /// A write that must succeed (2xx), its body an object.
    func write(_ method: HTTPMethod, _ path: String, _ body: [String: Any]) async throws {
        let text = String(decoding: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), as: UTF8.self)
        let r = try await call(method, path, text)
        guard (200..<300).contains(r.status) else { throw ValidationError("\(method) \(path) answered \(r.status): \(r.text)") }
    }

    func get(_ path: String) async throws -> [String: Any] { try await expect(200, .GET, path) }

    /// Runs `each` over `items`, 8 at a time (a few busy clients, as a portal and a CI system would be).
    func concurrently(_ items: [String], _ each: @escaping @Sendable (String) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                guard next < items.count else { return }
                let item = items[next]
                next += 1
                group.addTask { try await each(item) }
            }
            for _ in 0..<8 { add() }
            while try await group.next() != nil { add() }
        }
    }
}
