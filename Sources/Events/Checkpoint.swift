import Crypto
import Foundation

/// A signed statement "partition P of topic T had hash H at offset O, at time W". Appended by the partition's
/// writer every N records or T seconds, over the chain head the writer computed itself (never one read back from
/// the store); `wharf audit verify` checks the signatures against trusted public keys, so a chain that was
/// rewritten and re-hashed from some point on no longer matches what was signed.
public struct Checkpoint: Codable, Hashable, Sendable {
    public var topic: String
    public var partition: Int
    public var offset: Int64
    public var hash: String
    /// When it was signed (RFC 3339); absent in checkpoints from before times were signed (v1 message).
    public var time: String?
    public var keyId: String
    /// Base64 Ed25519 signature over `signedMessage`.
    public var signature: String

    public var signedMessage: Data {
        if let time { return Data("wharf-checkpoint-v2\n\(topic)\n\(partition)\n\(offset)\n\(hash)\n\(time)".utf8) }
        return Data("wharf-checkpoint-v1\n\(topic)\n\(partition)\n\(offset)\n\(hash)".utf8)
    }

    /// The key of a checkpoint record in the checkpoints topic.
    public static func key(topic: String, partition: Int) -> String { "\(topic)/\(partition)" }
}

/// The Ed25519 key that signs checkpoints. Stored as raw 32 bytes (base64) in a file with mode 0600; its public
/// half goes beside it as `<file>.pub` for auditors.
public struct CheckpointSigner: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey

    public init(privateKey: Curve25519.Signing.PrivateKey) { self.privateKey = privateKey }

    public var publicKeyBase64: String { privateKey.publicKey.rawRepresentation.base64EncodedString() }
    public var keyId: String { Self.keyId(publicKey: privateKey.publicKey.rawRepresentation) }

    public static func keyId(publicKey: Data) -> String {
        HashChain.hex(SHA256.hash(data: publicKey).prefix(8))
    }

    public func sign(topic: String, partition: Int, offset: Int64, hash: String, time: String) throws -> Checkpoint {
        var checkpoint = Checkpoint(topic: topic, partition: partition, offset: offset, hash: hash, time: time, keyId: keyId, signature: "")
        checkpoint.signature = try privateKey.signature(for: checkpoint.signedMessage).base64EncodedString()
        return checkpoint
    }

    /// Whether a checkpoint verifies with this signer's own public key (what a processor trusts on start).
    public func signed(_ checkpoint: Checkpoint) -> Bool {
        guard checkpoint.keyId == keyId, let signature = Data(base64Encoded: checkpoint.signature) else { return false }
        return privateKey.publicKey.isValidSignature(signature, for: checkpoint.signedMessage)
    }

    /// A processor snapshot's content hash, signed, so that one written into the store by someone else is refused.
    public func signSnapshot(partition: Int, eventsNext: Int64, sha256: String) throws -> String {
        try privateKey.signature(for: Self.snapshotMessage(partition: partition, eventsNext: eventsNext, sha256: sha256)).base64EncodedString()
    }

    public func signedSnapshot(partition: Int, eventsNext: Int64, sha256: String, signature: String?) -> Bool {
        guard let signature, let raw = Data(base64Encoded: signature) else { return false }
        return privateKey.publicKey.isValidSignature(raw, for: Self.snapshotMessage(partition: partition, eventsNext: eventsNext, sha256: sha256))
    }

    /// Signs a validated Nginx config version: `<key id>:<base64>` over (cluster, version, sha256 of the cluster text).
    /// Node agents pin the public key and apply nothing else, so database write access is not root on every node.
    public func signNginxVersion(cluster: String, version: Int, sha256: String) throws -> String {
        keyId + ":" + (try privateKey.signature(for: Self.nginxVersionMessage(cluster: cluster, version: version, sha256: sha256))
            .base64EncodedString())
    }

    /// Whether `signature` (`<key id>:<base64>`) signs (cluster, version, sha256) under `publicKey`.
    public static func nginxVersionSigned(_ signature: String?, by publicKey: Curve25519.Signing.PublicKey, cluster: String, version: Int,
                                          sha256: String) -> Bool {
        guard let signature, let colon = signature.firstIndex(of: ":"),
              String(signature[..<colon]) == keyId(publicKey: publicKey.rawRepresentation),
              let raw = Data(base64Encoded: String(signature[signature.index(after: colon)...])) else { return false }
        return publicKey.isValidSignature(raw, for: nginxVersionMessage(cluster: cluster, version: version, sha256: sha256))
    }

    static func nginxVersionMessage(cluster: String, version: Int, sha256: String) -> Data {
        Data("wharf-nginx-version-v1\n\(cluster)\n\(version)\n\(sha256)".utf8)
    }

    static func snapshotMessage(partition: Int, eventsNext: Int64, sha256: String) -> Data {
        Data("wharf-snapshot-v1\n\(partition)\n\(eventsNext)\n\(sha256)".utf8)
    }

    /// Loads the key at `path`, creating it (and `<path>.pub`) when missing.
    public static func loadOrCreate(path: String) throws -> CheckpointSigner {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) {
            // The same rules as every key file: no symlink, the running user's, nobody else may read it.
            let data: Data
            do { data = try OwnerOnlyFile.read(path) } catch { throw SignerError(description: "checkpoint signing key: \(error)") }
            guard let text = String(data: data, encoding: .utf8) else { throw SignerError(description: "\(path) is not text") }
            guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
                  let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
                throw SignerError(description: "\(path) does not hold a base64 Ed25519 private key")
            }
            return CheckpointSigner(privateKey: key)
        }
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let signer = CheckpointSigner(privateKey: Curve25519.Signing.PrivateKey())
        // Written whole under a private name (0600, never through a planted link), then linked into place: when
        // processes sharing the directory start together, one key wins and every process loads that one.
        let temp = path + ".new-\(UUID().uuidString.prefix(8))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SignerError(description: "cannot write the checkpoint signing key to \(temp): \(String(cString: strerror(errno)))") }
        let bytes = Array((signer.privateKey.rawRepresentation.base64EncodedString() + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let linked = written == bytes.count ? (link(temp, path) == 0 ? 0 : errno) : EIO
        unlink(temp)
        if linked == EEXIST {
            // Another process made it a moment ago: use that one (read once; no retry loop).
            guard fm.fileExists(atPath: path) else { throw SignerError(description: "cannot create the checkpoint signing key \(path)") }
            return try loadOrCreate(path: path)
        }
        guard linked == 0 else { throw SignerError(description: "cannot write the checkpoint signing key to \(path): \(String(cString: strerror(linked)))") }
        try (signer.publicKeyBase64 + "\n").write(toFile: path + ".pub", atomically: true, encoding: .utf8)
        return signer
    }

    public struct SignerError: Error, CustomStringConvertible {
        public var description: String
    }
}

/// Public keys an auditor trusts, by key id.
public struct TrustedKeys: Sendable {
    public var keys: [String: Curve25519.Signing.PublicKey] = [:]

    public init() {}

    /// Reads one base64 public key per line (blank lines and `#` comments ignored).
    public init(file: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let raw = Data(base64Encoded: trimmed), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw CheckpointSigner.SignerError(description: "\(file): \"\(trimmed.prefix(20))...\" is not a base64 Ed25519 public key")
            }
            keys[CheckpointSigner.keyId(publicKey: raw)] = key
        }
    }

    public func isValid(_ checkpoint: Checkpoint) -> Bool? {
        guard let key = keys[checkpoint.keyId] else { return nil }
        guard let signature = Data(base64Encoded: checkpoint.signature) else { return false }
        return key.isValidSignature(signature, for: checkpoint.signedMessage)
    }
}
