import Events
import Foundation
import Testing

/// The checkpoint signing key is read under the rules of every key file: no symlink, the running user's file, and
/// nobody else may read it; a key made on first start is private and stays the same on the next.
@Suite struct SigningKeyFileTests {
    @Test func theSigningKeyFileIsPrivateAndNeverReadThroughALink() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-signing-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/checkpoint-signing.key"
        let made = try CheckpointSigner.loadOrCreate(path: path)
        #expect(try CheckpointSigner.loadOrCreate(path: path).keyId == made.keyId, "the same key on the next start")
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)

        chmod(path, 0o640)
        #expect { _ = try CheckpointSigner.loadOrCreate(path: path) } throws: { "\($0)".contains("chmod 600") }
        chmod(path, 0o600)
        let planted = dir + "/planted.key"
        #expect(symlink(path, planted) == 0)
        #expect { _ = try CheckpointSigner.loadOrCreate(path: planted) } throws: { "\($0)".contains("symlink") }
    }
}
