import Foundation

/// Canonical JSON: keys sorted, no insignificant whitespace, slashes unescaped.
/// The bytes produced here are the bytes stored in the log and hashed into the chain, so they must
/// never depend on dictionary order or encoder defaults.
public enum CanonicalJSON {
    // One configured instance each: making coders per call is a measurable share of replay time. Their
    // settings never change after this, so sharing them across threads is safe.
    nonisolated(unsafe) private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    nonisolated(unsafe) private static let decoder = JSONDecoder()

    public static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decoder.decode(type, from: Data(text.utf8))
    }
}
