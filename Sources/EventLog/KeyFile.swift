import Crypto
import Events
import Foundation

/// A private file of 256-bit symmetric keys: one `<key id> <base64 of 32 bytes>` per line, `#` starts a comment.
/// The first key is the active one (it seals or signs new things); every key is accepted, so a rotation puts a new
/// key first and keeps the old ones. Shared by the secret env keys and the command authentication keys.
public enum KeyFile {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Reads the file, creating it with one new key (mode 0600, in a directory made 0700) when it does not exist.
    public static func loadOrCreate(path: String, purpose: String) throws -> [(id: String, key: SymmetricKey)] {
        if !FileManager.default.fileExists(atPath: path) {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            let key = SymmetricKey(size: .bits256)
            let id = "k" + String(Int(Date().timeIntervalSince1970))
            let text = "# Wharf \(purpose): <id> <base64 key>; the first is active, all are accepted. Keep outside the database.\n"
                + "\(id) \(key.withUnsafeBytes { Data($0) }.base64EncodedString())\n"
            // Written whole under a private name, then linked into place: link fails if the file appeared meanwhile
            // (processes starting together), and then everyone uses the one that won.
            let temp = path + ".new-\(UUID().uuidString.prefix(8))"
            let fd = try PrivateFile.create(temp)
            do {
                defer { close(fd) }
                try PrivateFile.writeAll(fd, Data(text.utf8), path: temp)
            }
            let linked = link(temp, path) == 0 ? 0 : errno
            unlink(temp)
            if linked != 0 && linked != EEXIST {
                throw Failure(description: "cannot create the key file \(path): \(String(cString: strerror(linked)))")
            }
        }
        return try load(path: path)
    }

    /// Reads the keys (see OwnerOnlyFile: no symlink, owned by the user running Wharf, nobody else may read it).
    public static func load(path: String) throws -> [(id: String, key: SymmetricKey)] {
        let data: Data
        do { data = try OwnerOnlyFile.read(path) } catch let failure as OwnerOnlyFile.Failure { throw Failure(description: failure.description) }
        guard let text = String(data: data, encoding: .utf8) else { throw Failure(description: "the key file \(path) is not text") }
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
        do { try validate(keys) } catch let failure as Failure { throw Failure(description: "\(path): \(failure.description)") }
        return keys
    }

    /// At least one key; ids well-formed and unique; every key 32 bytes.
    public static func validate(_ keys: [(id: String, key: SymmetricKey)]) throws {
        guard !keys.isEmpty else { throw Failure(description: "at least one key is needed") }
        var seen = Set<String>()
        for (id, key) in keys {
            guard KeyId.isValid(id) else { throw Failure(description: "key id \"\(id)\" must be 1-32 of a-z, 0-9 and -") }
            guard key.bitCount == 256 else { throw Failure(description: "key \"\(id)\" must be 32 bytes") }
            guard seen.insert(id).inserted else { throw Failure(description: "key id \"\(id)\" is listed twice") }
        }
    }
}
