import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Suites that start `wharf serve` processes of their own (kill -9 tests) and call their API on loopback.
protocol CallsWharfProcess {}

extension CallsWharfProcess {
    func call(_ port: Int, _ token: String, _ method: HTTPMethod, _ path: String, _ body: String? = nil) async throws
        -> (status: Int, text: String, json: [String: Any]) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { request.headers.add(name: "Content-Type", value: "application/json"); request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 4 << 20))
        let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return (Int(response.status.code), text, json)
    }
}
