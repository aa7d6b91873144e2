import Crypto
import Events
import Foundation

/// The keys that seal and open secret env values (AES-256-GCM). They live in a file outside the database
/// (`WHARF_SECRET_KEYS`), so whoever can read or write Postgres or the broker sees only ciphertext.
///
/// File format: one key per line, `<key id> <base64 of 32 bytes>`; `#` starts a comment. The first key seals new
/// values; every key opens what it sealed, so a rotation puts the new key first and keeps the old ones until
/// nothing sealed with them is left. Every process of one installation needs the same file.
public struct SecretKeyring: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let activeKeyId: String
    private let keys: [String: SymmetricKey]

    public init(keys: [(id: String, key: SymmetricKey)]) throws {
        do { try KeyFile.validate(keys) } catch let failure as KeyFile.Failure { throw Failure(description: "secret keys: \(failure.description)") }
        activeKeyId = keys[0].id
        self.keys = Dictionary(uniqueKeysWithValues: keys.map { ($0.id, $0.key) })
    }

    /// A keyring of one new random key that lives as long as the process (tests, benchmarks).
    public static func ephemeral() -> SecretKeyring {
        try! SecretKeyring(keys: [(id: "ephemeral", key: SymmetricKey(size: .bits256))])
    }

    public func seal(_ value: String, service: String, variable: String) throws -> String {
        let key = keys[activeKeyId]!
        let box = try AES.GCM.seal(Data(value.utf8), using: key,
                                   authenticating: SealedSecret.associatedData(service: service, variable: variable, keyId: activeKeyId))
        return SealedSecret(keyId: activeKeyId, combined: box.combined!).text
    }

    /// Opens a sealed value of this service and variable; fails for another service's or variable's value, a changed
    /// ciphertext, or a key this keyring does not have.
    public func open(_ text: String, service: String, variable: String) throws -> String {
        guard let sealed = SealedSecret(text) else { throw Failure(description: "not a sealed value") }
        guard let key = keys[sealed.keyId] else {
            throw Failure(description: "the value was sealed with key \"\(sealed.keyId)\", which WHARF_SECRET_KEYS of this process does not hold")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.combined)
            let plain = try AES.GCM.open(box, using: key,
                                         authenticating: SealedSecret.associatedData(service: service, variable: variable, keyId: sealed.keyId))
            guard let value = String(data: plain, encoding: .utf8) else { throw Failure(description: "the opened value is not UTF-8") }
            return value
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "the sealed value of \(variable) does not open with key \"\(sealed.keyId)\": it was changed or belongs elsewhere")
        }
    }

    /// Reads the key file (`KeyFile`), creating it with one new key when it does not exist.
    public static func loadOrCreate(path: String) throws -> SecretKeyring {
        try SecretKeyring(keys: try wrap { try KeyFile.loadOrCreate(path: path, purpose: "secret env keys") })
    }

    public static func load(path: String) throws -> SecretKeyring {
        try SecretKeyring(keys: try wrap { try KeyFile.load(path: path) })
    }

    private static func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let failure as KeyFile.Failure { throw Failure(description: failure.description) }
    }
}
