import Foundation

/// A secret env value as the log carries it: `wharf-sealed:v1:<key id>:<base64 of AES-GCM nonce, ciphertext, tag>`.
/// The API seals values with a key kept outside the database (`SecretKeyring`); deciders, read models and the log
/// only ever see this form. The service and variable name are bound in as associated data, so a sealed value
/// copied to another service or variable does not open.
public struct SealedSecret: Hashable, Sendable {
    public static let prefix = "wharf-sealed:v1:"
    /// 12-byte nonce and 16-byte tag around the ciphertext.
    static let overheadBytes = 28

    public var keyId: String
    public var combined: Data

    public init(keyId: String, combined: Data) {
        self.keyId = keyId
        self.combined = combined
    }

    /// Parses the wire form; nil when it is not one.
    public init?(_ text: String) {
        guard text.hasPrefix(Self.prefix) else { return nil }
        let rest = text.dropFirst(Self.prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let id = String(rest[..<colon])
        guard KeyId.isValid(id), let data = Data(base64Encoded: String(rest[rest.index(after: colon)...])),
              data.count >= Self.overheadBytes else { return nil }
        keyId = id
        combined = data
    }

    public var text: String { Self.prefix + keyId + ":" + combined.base64EncodedString() }

    /// The associated data a value is sealed with: what it belongs to, so it opens nowhere else.
    public static func associatedData(service: String, variable: String, keyId: String) -> Data {
        Data("wharf secret env v1\n\(service)\n\(variable)\n\(keyId)".utf8)
    }
}
