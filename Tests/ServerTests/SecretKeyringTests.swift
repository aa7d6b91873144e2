import EventLog
import Crypto
import Events
import Foundation
import Server
import Testing

/// Sealing binds a value to its service, variable and key; the key file is private and rotatable.
@Suite struct SecretKeyringTests {
    @Test func aSealedValueOpensOnlyForItsServiceAndVariable() throws {
        let ring = SecretKeyring.ephemeral()
        let sealed = try ring.seal("hunter2", service: "pay-api", variable: "DB_PASSWORD")
        #expect(!sealed.contains("hunter2") && sealed.hasPrefix("wharf-sealed:v1:ephemeral:"))
        #expect(try ring.open(sealed, service: "pay-api", variable: "DB_PASSWORD") == "hunter2")
        #expect(throws: SecretKeyring.Failure.self) { try ring.open(sealed, service: "shop-api", variable: "DB_PASSWORD") }
        #expect(throws: SecretKeyring.Failure.self) { try ring.open(sealed, service: "pay-api", variable: "API_KEY") }
        // One flipped ciphertext bit fails the tag.
        var parsed = try #require(SealedSecret(sealed))
        parsed.combined[14] ^= 0x01
        #expect(throws: SecretKeyring.Failure.self) { try ring.open(parsed.text, service: "pay-api", variable: "DB_PASSWORD") }
        // Another keyring (another installation) cannot open it; a relabelled key id does not help.
        #expect(throws: SecretKeyring.Failure.self) { try SecretKeyring.ephemeral().open(sealed, service: "pay-api", variable: "DB_PASSWORD") }
        // Two seals of one value differ (random nonces).
        #expect(try ring.seal("hunter2", service: "pay-api", variable: "DB_PASSWORD") != sealed)
    }

    @Test func theKeyFileIsMadePrivateRefusedWhenReadableAndRotates() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nested/secret-env.keys"
        let first = try SecretKeyring.loadOrCreate(path: path)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o077 == 0, "created private, mode \(String(mode, radix: 8))")
        let sealed = try first.seal("v1", service: "s", variable: "V")
        #expect(try SecretKeyring.loadOrCreate(path: path).open(sealed, service: "s", variable: "V") == "v1", "the same key on the next start")

        // Rotation: a new first key seals, the old one still opens.
        let old = try String(contentsOfFile: path, encoding: .utf8)
        let newKey = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
        try FileManager.default.removeItem(atPath: path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        #expect(fd >= 0)
        _ = ("k-new \(newKey)\n" + old).withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let rotated = try SecretKeyring.load(path: path)
        #expect(rotated.activeKeyId == "k-new")
        #expect(try rotated.open(sealed, service: "s", variable: "V") == "v1")
        #expect(try rotated.seal("v2", service: "s", variable: "V").hasPrefix("wharf-sealed:v1:k-new:"))

        chmod(path, 0o644)
        #expect { try SecretKeyring.load(path: path) } throws: { "\($0)".contains("chmod 600") }
        chmod(path, 0o600)
        // A symlink planted where the key file should be is refused, even to a private file.
        let planted = dir + "/nested/planted.keys"
        #expect(symlink(path, planted) == 0)
        #expect { try SecretKeyring.load(path: planted) } throws: { "\($0)".contains("symlink") }
        try "bad-line\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect { try SecretKeyring.load(path: path) } throws: { "\($0)".contains("line 1") }
    }
}
