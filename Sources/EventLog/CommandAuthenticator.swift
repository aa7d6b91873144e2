import Crypto
import Events
import Foundation

/// Authenticates command records: whoever accepts an intent (the API, a worker) writes an HMAC-SHA256 into the
/// envelope's `auth` (`<key id>:<base64>`), with a key only Wharf processes hold (`WHARF_COMMAND_KEYS`, outside the
/// database and the broker). The processor checks it before deciding, so a record written straight into the
/// commands topic (SQL, a raw Kafka produce) is refused instead of being decided as whoever it claims to be.
///
/// The code covers the stored text itself with the `auth` value left empty: no re-encoding on either side. In
/// canonical JSON the top-level keys are sorted and quotes inside strings escaped, so the first `"auth":"` in the
/// text is the envelope's own (only `actor` and `aggregate`, both strings, come before it).
public struct CommandAuthenticator: Sendable {
    public let activeKeyId: String
    private let keys: [String: SymmetricKey]

    public init(keys: [(id: String, key: SymmetricKey)]) throws {
        try KeyFile.validate(keys)
        activeKeyId = keys[0].id
        self.keys = Dictionary(uniqueKeysWithValues: keys.map { ($0.id, $0.key) })
    }

    /// One new random key for the life of the process (tests, a single in-process node).
    public static func ephemeral() -> CommandAuthenticator {
        try! CommandAuthenticator(keys: [(id: "ephemeral", key: SymmetricKey(size: .bits256))])
    }

    public static func loadOrCreate(path: String) throws -> CommandAuthenticator {
        try CommandAuthenticator(keys: try KeyFile.loadOrCreate(path: path, purpose: "command authentication keys"))
    }

    private static let marker = Array(#""auth":""#.utf8)

    /// The canonical text of the envelope with its authentication code: what goes into the commands topic.
    public func record(_ envelope: CommandEnvelope) throws -> OutgoingRecord {
        var unsigned = envelope
        unsigned.auth = ""
        var bytes = Array(try CanonicalJSON.encode(unsigned).utf8)
        guard let at = Self.valueStart(in: bytes) else { preconditionFailure("an encoded envelope has its auth field") }
        let mac = HMAC<SHA256>.authenticationCode(for: bytes, using: keys[activeKeyId]!)
        bytes.insert(contentsOf: Array("\(activeKeyId):\(Data(mac).base64EncodedString())".utf8), at: at)
        return OutgoingRecord(key: envelope.aggregate, value: String(decoding: bytes, as: UTF8.self))
    }

    /// Why a stored command record is not authentic; nil when it is.
    public func problem(with text: String) -> String? {
        var bytes = Array(text.utf8)
        guard let start = Self.valueStart(in: bytes) else { return "it carries no authentication code" }
        guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\"")) else { return "its authentication code is malformed" }
        let value = String(decoding: bytes[start..<end], as: UTF8.self)
        guard let colon = value.firstIndex(of: ":"), let mac = Data(base64Encoded: String(value[value.index(after: colon)...])) else {
            return "its authentication code is malformed"
        }
        let keyId = String(value[..<colon])
        guard let key = keys[keyId] else { return "it is authenticated with key \"\(keyId.prefix(32))\", which this process does not hold" }
        bytes.removeSubrange(start..<end)
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: bytes, using: key) else {
            return "its authentication code does not match its content"
        }
        return nil
    }

    /// Index just past the first `"auth":"` (where its value starts).
    private static func valueStart(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= marker.count else { return nil }
        var i = 0
        while i + marker.count <= bytes.count {
            if bytes[i] == marker[0], bytes[i..<(i + marker.count)].elementsEqual(marker) { return i + marker.count }
            i += 1
        }
        return nil
    }
}
