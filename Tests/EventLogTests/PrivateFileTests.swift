import EventLog
import Foundation
import Testing

/// Temp files are created exclusively (a planted symlink is never followed) and private directories are 0700.
@Suite struct PrivateFileTests {
    struct Scratch {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-private-\(UUID().uuidString)").path
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }
        func remove() { try? FileManager.default.removeItem(atPath: path) }
    }

    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode : 0
    }

    @Test func aSymlinkPlantedAtTheTempPathIsNotFollowed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let target = scratch.path + "/target", path = scratch.path + "/nginx.conf", temp = path + ".wharf-tmp"
        try "precious\n".write(toFile: target, atomically: false, encoding: .utf8)
        #expect(symlink(target, temp) == 0)
        #expect(throws: PrivateFile.Failure.self) { _ = try PrivateFile.create(temp) }

        try PrivateFile.replace(path, with: Data("new config\n".utf8), temp: temp)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n", "the symlink's target is untouched")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new config\n")
        #expect(Self.mode(path) & S_IFMT == S_IFREG && Self.mode(path) & 0o777 == 0o600)
        #expect(!FileManager.default.fileExists(atPath: temp))
    }

    @Test func privateDirectoriesAre0700WithFreshNames() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let first = try PrivateFile.makeDirectory(in: scratch.path, prefix: "check.")
        let second = try PrivateFile.makeDirectory(in: scratch.path, prefix: "check.")
        #expect(first != second && first.hasPrefix(scratch.path + "/check.") && first.count == (scratch.path + "/check.XXXXXX").count)
        for dir in [first, second] {
            #expect(Self.mode(dir) & S_IFMT == S_IFDIR)
            #expect(Self.mode(dir) & 0o777 == 0o700, "mode \(String(Self.mode(dir) & 0o777, radix: 8))")
        }
    }
}
