import Crypto
import EventLog
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
        guard let first = keys.first else { throw Failure(description: "a secret keyring needs at least one key") }
        var map: [String: SymmetricKey] = [:]
        for (id, key) in keys {
            guard SealedSecret.isKeyId(id) else { throw Failure(description: "secret key id \"\(id)\" must be 1-32 of a-z, 0-9 and -") }
            guard key.bitCount == 256 else { throw Failure(description: "secret key \"\(id)\" must be 32 bytes (AES-256)") }
            guard map.updateValue(key, forKey: id) == nil else { throw Failure(description: "secret key id \"\(id)\" is listed twice") }
        }
        activeKeyId = first.id
        self.keys = map
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

    /// Reads the key file, creating it with one new key (mode 0600) when it does not exist. A file that others may
    /// read is refused: the keys are what keeps the secrets secret.
    public static func loadOrCreate(path: String) throws -> SecretKeyring {
        if !FileManager.default.fileExists(atPath: path) {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            let key = SymmetricKey(size: .bits256)
            let id = "k" + String(Int(Date().timeIntervalSince1970))
            let line = "# Wharf secret env keys: <id> <base64 key>; the first seals, all open. Keep outside the database.\n"
                + "\(id) \(key.withUnsafeBytes { Data($0) }.base64EncodedString())\n"
            let fd = try PrivateFile.create(path)
            defer { close(fd) }
            try PrivateFile.writeAll(fd, Data(line.utf8), path: path)
        }
        return try load(path: path)
    }

    public static func load(path: String) throws -> SecretKeyring {
        var info = stat()
        guard stat(path, &info) == 0 else { throw Failure(description: "cannot read the secret keys file \(path): \(String(cString: strerror(errno)))") }
        if info.st_mode & 0o077 != 0 {
            throw Failure(description: "the secret keys file \(path) may be read by others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        guard let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw Failure(description: "cannot read the secret keys file \(path)")
        }
        var keys: [(id: String, key: SymmetricKey)] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, let bytes = Data(base64Encoded: String(parts[1])), bytes.count == 32 else {
                throw Failure(description: "\(path) line \(number + 1): expected \"<key id> <base64 of 32 bytes>\"")
            }
            keys.append((id: String(parts[0]), key: SymmetricKey(data: bytes)))
        }
        do {
            return try SecretKeyring(keys: keys)
        } catch let failure as Failure {
            throw Failure(description: "\(path): \(failure.description)")
        }
    }
}
