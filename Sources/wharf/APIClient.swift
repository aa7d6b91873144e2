import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Options every API subcommand shares.
struct APIOptions: ParsableArguments {
    @Option(help: "Wharf API base URL (env WHARF_URL; default http://127.0.0.1:$WHARF_HTTP_PORT).")
    var url: String?

    @Option(help: "API token (env WHARF_TOKEN).")
    var token: String?

    @Option(name: .shortAndLong, help: "Output format: table or json.")
    var output: OutputFormat = .table

    func client() throws -> APIClient {
        let env = ProcessInfo.processInfo.environment
        let base = url ?? env["WHARF_URL"] ?? "http://127.0.0.1:\(env["WHARF_HTTP_PORT"] ?? "8080")"
        guard let token = token ?? env["WHARF_TOKEN"], !token.isEmpty else {
            throw APIFailure(status: 0, reason: "no API token: pass --token or set WHARF_TOKEN (wharf serve prints the admin token on first start)")
        }
        return APIClient(baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base, token: token)
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

struct APIResponse {
    var status: Int
    var body: Data
    var json: Any? { try? JSONSerialization.jsonObject(with: body) }
}

/// A failed call: the API's reason, printed as is.
struct APIFailure: Error, CustomStringConvertible {
    var status: Int
    var reason: String
    var description: String { status == 0 ? reason : "HTTP \(status): \(reason)" }
}

struct APIClient {
    var baseURL: String
    var token: String

    func send(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil, headers: [String: String] = [:]) async throws -> APIResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])))
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        } catch {
            throw APIFailure(status: 0, reason: "cannot reach Wharf at \(baseURL): \(error). Is `wharf serve` running? (--url / WHARF_URL)")
        }
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return APIResponse(status: Int(response.status.code), body: Data(buffer.readableBytesView))
    }

    /// Sends and fails on non-2xx with the API's own reason.
    func call(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil, headers: [String: String] = [:]) async throws -> APIResponse {
        let response = try await send(method, path, body: body, headers: headers)
        guard (200..<300).contains(response.status) else {
            let object = response.json as? [String: Any]
            let reason = (object?["reason"] as? String) ?? (object?["error"] as? String) ?? String(decoding: response.body, as: UTF8.self)
            throw APIFailure(status: response.status, reason: reason.isEmpty ? "no reason given" : reason)
        }
        return response
    }
}

func percentEncoded(_ s: String) -> String {
    s.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+/?#"))) ?? s
}
