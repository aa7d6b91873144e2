import Foundation
import Hummingbird
import NIOCore

/// Reads a JSON request body the strict way: at most 1 MiB, an object, no unknown fields, and each field of
/// the right type. Every failure is a 4xx naming the field, raised before anything reaches the log.
enum StrictJSON {
    static let maxBodyBytes = 1024 * 1024

    /// The fields a body may carry. `.map` is an object with free keys (env); `.value` any scalar.
    indirect enum Shape {
        case object([String: Shape])
        case array(Shape)
        case map
        case value
    }

    static func decode<T: Decodable>(_ type: T.Type, from request: inout Request, shape: [String: Shape]) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body is larger than \(maxBodyBytes) bytes")
        }
        return try decode(type, from: Data(buffer.readableBytesView), shape: shape)
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, shape: [String: Shape]) throws -> T {
        guard !data.isEmpty else { throw APIError(.badRequest, "request body is empty; send a JSON object") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw APIError(.badRequest, "request body is not valid JSON")
        }
        guard object is [String: Any] else { throw APIError(.badRequest, "request body must be a JSON object") }
        try checkFields(object, shape: .object(shape), path: "")
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw describe(error)
        }
    }

    /// Rejects fields the shape does not name, at any depth.
    private static func checkFields(_ value: Any, shape: Shape, path: String) throws {
        switch shape {
        case .object(let fields):
            guard let dict = value as? [String: Any] else { return }  // type errors are reported by the decoder
            for key in dict.keys.sorted() {
                let field = path.isEmpty ? key : "\(path).\(key)"
                guard let inner = fields[key] else {
                    throw APIError(.unprocessableContent,
                                   "unknown field \"\(field)\"; allowed here: \(fields.keys.sorted().joined(separator: ", "))", field: field)
                }
                try checkFields(dict[key]!, shape: inner, path: field)
            }
        case .array(let element):
            guard let list = value as? [Any] else { return }
            for (i, item) in list.enumerated() { try checkFields(item, shape: element, path: "\(path)[\(i)]") }
        case .map, .value:
            return
        }
    }

    private static func path(_ codingPath: [CodingKey], _ last: CodingKey? = nil) -> String {
        let keys = codingPath + (last.map { [$0] } ?? [])
        return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            .reduce("") { acc, part in part.hasPrefix("[") || acc.isEmpty ? acc + part : acc + "." + part }
    }

    static func describe(_ error: DecodingError) -> APIError {
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath, key)
            return APIError(.unprocessableContent, "missing required field \"\(field)\"", field: field)
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return APIError(.unprocessableContent, "field \"\(field)\" must be \(typeName(type))", field: field)
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return APIError(.unprocessableContent, "field \"\(field)\" must be \(typeName(type)), not null", field: field)
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            return APIError(.unprocessableContent, "field \"\(field)\": \(context.debugDescription)", field: field)
        @unknown default:
            return APIError(.unprocessableContent, "request body does not match the expected shape")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: "an integer"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default: "\(type)".contains("Dictionary") ? "an object" : ("\(type)".contains("Array") ? "an array" : "a \(type)")
        }
    }
}
