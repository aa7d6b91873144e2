import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A request refused at the door: not an intent, nothing appended. Answered as
/// `{"error": "<reason>", "field": "<field>"}` with a 4xx status, or `{"error": "internal error", "errorId": "<id>"}`
/// for an unexpected failure (the id finds its details in the log).
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var reason: String
    public var field: String?
    public var errorId: String?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ reason: String, field: String? = nil) {
        self.status = status; self.reason = reason; self.field = field
    }

    public var description: String { "\(status.code) \(reason)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [String: String] = ["error": reason]
        if let field { body["field"] = field }
        if let errorId { body["errorId"] = errorId }
        var headers = self.headers
        headers[.contentType] = "application/json"
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func unauthorized(_ reason: String) -> APIError {
        var e = APIError(.unauthorized, reason)
        e.headers[.wwwAuthenticate] = "Bearer realm=\"wharf\""
        return e
    }
}

enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return raw(String(decoding: try encoder.encode(value), as: UTF8.self), status: status)
    }

    /// A JSON object built from dictionaries (answers whose shape depends on the outcome).
    static func object(_ body: [String: Any], status: HTTPResponse.Status = .ok) throws -> Response {
        raw(String(decoding: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self),
            status: status)
    }

    static func raw(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}

/// List endpoints answer `{"items": [...]}`.
struct Items<T: Encodable>: Encodable {
    var items: [T]
}
