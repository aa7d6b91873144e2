import Foundation

/// Canonical JSON: keys sorted, no insignificant whitespace, slashes unescaped.
/// The bytes produced here are the bytes stored in the log and hashed into the chain, so they must
/// never depend on dictionary order or encoder defaults.
public enum CanonicalJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
