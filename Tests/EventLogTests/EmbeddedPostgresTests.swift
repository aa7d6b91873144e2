@testable import EventLog
import Foundation
import PostgresNIO
import Testing
import TestSupport

/// The private Postgres that Wharf runs when no database URL is given. The suite runs as root (as CI does), where
/// the cluster runs as the `postgres` user and must be placed where that user can reach it.
@Suite struct EmbeddedPostgresTests {
    /// `WHARF_DATA_DIR=$(mktemp -d)`: a 0700 directory the postgres user cannot enter. The cluster goes to a system
    /// location instead (noted in the data directory), starts, and answers a query.
    @Test func startsWithAPrivateDataDirectory() async throws {
        var template = Array((NSTemporaryDirectory() + "wharf-data.XXXXXX").utf8CString)
        let data = String(cString: try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }))
        defer { try? FileManager.default.removeItem(atPath: data) }
        var info = stat()
        #expect(stat(data, &info) == 0 && info.st_mode & 0o777 == 0o700, "mktemp -d makes a 0700 directory")

        let postgres = try EmbeddedPostgres(dataDirectory: data)
        defer {
            postgres.stop()
            if !postgres.clusterDirectory.hasPrefix(data + "/") {
                try? FileManager.default.removeItem(atPath: postgres.clusterDirectory)
                try? FileManager.default.removeItem(atPath: postgres.logFile)
            }
            try? FileManager.default.removeItem(atPath: postgres.socketDirectory)
        }
        if getuid() == 0 {
            #expect(!postgres.clusterDirectory.hasPrefix(data + "/"), "the postgres user cannot enter \(data): \(postgres.clusterDirectory)")
            #expect(try String(contentsOfFile: data + "/postgres-location", encoding: .utf8) == postgres.clusterDirectory + "\n")
        }
        #expect(try postgres.start(), "this call started the cluster")
        let database = try await Database.open(postgres.settings, logger: TestEnvironment.logger, patience: .seconds(10))
        var answers: [String] = []
        do {
            for try await (user, sum) in try await database.client.query("SELECT current_user::text, 40 + 2", logger: TestEnvironment.logger).decode((String, Int).self) {
                answers.append("\(user) \(sum)")
            }
        } catch {
            await database.close()
            throw error
        }
        await database.close()
        #expect(answers == ["wharf 42"])
        #expect(try postgres.start() == false, "a second start finds it running")
    }

    /// The placement check looks at the data directory itself, not only above it.
    @Test func traversabilityIncludesTheDirectoryItself() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-trav-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o700)
        #expect(!EmbeddedPostgres.traversable(dir, by: "postgres"))
        chmod(dir, 0o711)
        #expect(EmbeddedPostgres.traversable(dir, by: "postgres"))
        #expect(!EmbeddedPostgres.traversable(dir + "/missing", by: "postgres"))
    }
}
