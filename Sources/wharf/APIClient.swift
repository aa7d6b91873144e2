import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Options every API subcommand shares.
struct APIOptions: ParsableArguments {
    @Option(help: "Wharf API base URL (env WHARF_URL; default http://127.0.0.1:$WHARF_HTTP_PORT).")
    var url: String?

    @Option(help: "API token (env WHARF_TOKEN).")
    var token: String?

    @Option(help: "PEM file of the certificate authorities to trust for an https URL, instead of the system's (env WHARF_CA_FILE).")
    var caFile: String?

    @Option(name: .shortAndLong, help: "Output format: table or json.")
    var output: OutputFormat = .table

    func client() throws -> APIClient {
        let env = ProcessInfo.processInfo.environment
        let base = url ?? env["WHARF_URL"] ?? "http://127.0.0.1:\(env["WHARF_HTTP_PORT"] ?? "8080")"
        guard let token = token ?? env["WHARF_TOKEN"], !token.isEmpty else {
            throw APIFailure(status: 0, reason: "no API token: pass --token or set WHARF_TOKEN (wharf serve prints the admin token on first start)")
        }
        let ca = caFile ?? env["WHARF_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        if let ca, !FileManager.default.isReadableFile(atPath: ca) {
            throw APIFailure(status: 0, reason: "cannot read the CA file \(ca) (--ca-file / WHARF_CA_FILE)")
        }
        return APIClient(baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base, token: token, caFile: ca)
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
    /// Trusted roots for HTTPS instead of the system's.
    var caFile: String?

    func send(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil, headers: [String: String] = [:]) async throws -> APIResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])))
        }
        let client = httpClient()
        let result: Result<APIResponse, Error>
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
            result = .success(APIResponse(status: Int(response.status.code), body: Data(buffer.readableBytesView)))
        } catch {
            result = .failure(APIFailure(status: 0, reason: "cannot reach Wharf at \(baseURL): \(error). Is `wharf serve` running? (--url / WHARF_URL)"))
        }
        if caFile != nil { try? await client.shutdown() }
        return try result.get()
    }

    /// The shared client, or one trusting `caFile` (the caller shuts that one down).
    func httpClient() -> HTTPClient {
        guard let caFile else { return HTTPClient.shared }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
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
