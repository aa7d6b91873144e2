import EventLog
import Events
import Foundation
import Logging
import Testing
import TestSupport
import Workers

/// How the nginx worker and node applier run nginx: each `nginx -t` in a fresh private scratch prefix, every run
/// within a time limit, and nginx.conf written so that a symlink planted at its temp path is never followed.
@Suite struct NginxProcessTests {
    struct Scratch {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-nginx-proc-\(UUID().uuidString)").path
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }
        func remove() { try? FileManager.default.removeItem(atPath: path) }

        /// A stand-in for the nginx binary (a shell script), to observe how it is called or to hang.
        func script(_ name: String, _ body: String) throws -> String {
            let file = path + "/" + name
            // Written through a close-on-exec descriptor: a child that another test spawns meanwhile must not keep
            // it open for writing, or executing the script fails with ETXTBSY ("Text file busy").
            let fd = try PrivateFile.create(file)
            defer { close(fd) }
            try PrivateFile.writeAll(fd, Data(("#!/bin/sh\n" + body + "\n").utf8), path: file)
            fchmod(fd, 0o755)
            return file
        }
    }

    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode : 0
    }

    static func realNginx(timeLimit: Duration) throws -> NginxCommandLine {
        guard var nginx = NginxCommandLine.find() else { throw TestEnvironment.Missing(description: "nginx not found: ops/test installs it") }
        nginx.timeLimit = timeLimit
        return nginx
    }

    static func versionCreated(_ text: String) -> EventEnvelope {
        EventEnvelope(id: "e1", aggregate: "nginx-cluster/edge", actor: "user:alice", time: "2026-11-27T10:00:00.000Z", correlationId: "c1",
                      causationId: "c1", commandType: "CreateNginxCluster", commandPosition: LogPosition(partition: 0, offset: 0),
                      event: Event(NginxConfigVersionCreated(cluster: "edge", version: 1, reason: "test", text: text,
                                                                                  sha256: String(repeating: "0", count: 64), diff: "")))
    }

    /// The scratch prefix is what nginx -t sees: `-p PREFIX/ -c PREFIX/nginx.conf`. The stand-in records its mode,
    /// its path and the config file's mode while it exists.
    @Test func eachCheckRunsInAFreshPrivateScratchPrefix() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let record = scratch.path + "/record"
        let fake = try scratch.script("nginx", #"p="${2%/}"; { stat -c '%a' "$p"; echo "$p"; stat -c '%a %F' "$4"; cat "$4"; } >> \#(record); exit 0"#)
        let root = scratch.path + "/tmp"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        let nginx = NginxCommandLine(binary: fake)
        #expect(try nginx.test(text: "events {}\n", scratchRoot: root).status == 0)
        #expect(try nginx.test(text: "events {}\n", scratchRoot: root).status == 0)
        let lines = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 8, "\(lines)")
        guard lines.count == 8 else { return }
        #expect(lines[0] == "700" && lines[4] == "700", "scratch prefixes are 0700: \(lines)")
        #expect(lines[2] == "600 regular file" && lines[3] == "events {}", "\(lines)")
        #expect(lines[1] != lines[5], "a fresh prefix per check")
        for prefix in [lines[1], lines[5]] {
            #expect(prefix.hasPrefix(root + "/wharf-nginx-check.") && prefix.count == (root + "/wharf-nginx-check.XXXXXX").count, "\(prefix)")
            #expect(!FileManager.default.fileExists(atPath: prefix), "removed after the check")
        }
    }

    /// A hanging `nginx -t` is killed at the time limit and the version is reported invalid with that reason.
    @Test func aHangingNginxTestIsKilledAndTheVersionFails() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let fake = try scratch.script("nginx", "exec /bin/sleep 60")
        let validator = NginxConfigValidator(nginx: NginxCommandLine(binary: fake, timeLimit: .seconds(1)), scratchRoot: scratch.path,
                                             logger: Logger(label: "test"))
        let clock = ContinuousClock()
        let started = clock.now
        let commands = try await validator.react(to: Self.versionCreated("events {}\n"), at: LogPosition(partition: 0, offset: 0))
        let elapsed = clock.now - started
        // How close to the limit the kill lands is ChildProcessTests' concern; here the answer (which resumes on a
        // cooperative thread that parallel tests may keep busy) must only come long before sleep's 60 s.
        #expect(elapsed < .seconds(30), "killed at the 1 s limit, not after sleep's 60 s: \(elapsed)")
        guard commands.count == 1, let record = commands[0].as(RecordNginxValidation.self) else { Issue.record("\(commands)"); return }
        #expect(!record.valid)
        #expect(record.message.contains("nginx -t did not finish within 1.0 seconds and was killed"), "\(record.message)")
    }

    /// The real nginx: a symlink planted at the applier's temp path is removed, not written through, both when a
    /// version is applied and when a failing one is put back; and the nginx daemon started by the applier outlives
    /// the time limit of the launcher.
    @Test func theApplierNeverWritesThroughAPlantedSymlinkAndItsDaemonOutlivesTheLimit() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let applier = NginxNodeApplier(nginx: try Self.realNginx(timeLimit: .seconds(1)), prefix: scratch.path + "/node")
        defer { applier.stop() }
        let target = scratch.path + "/precious"
        try "precious\n".write(toFile: target, atomically: false, encoding: .utf8)
        let port = try TestEnvironment.freePort()
        let text = "pid logs/nginx.pid;\nerror_log logs/error.log;\nevents { worker_connections 64; }\nhttp {\n    access_log off;\n    server { listen 127.0.0.1:\(port); return 200 \"ok\\n\"; }\n}\n"

        try FileManager.default.createDirectory(atPath: applier.prefix, withIntermediateDirectories: false)
        #expect(symlink(target, applier.temp) == 0)
        guard case .applied(_, _, let started) = try applier.apply(text) else { Issue.record("the first apply must start nginx"); return }
        #expect(started)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n", "the symlink's target is untouched")
        #expect(try String(contentsOfFile: applier.configPath, encoding: .utf8) == text)
        #expect(Self.mode(applier.configPath) & S_IFMT == S_IFREG && Self.mode(applier.configPath) & 0o777 == 0o600)

        usleep(1_500_000)
        #expect(applier.isRunning(), "nginx, started with a 1 s limit on its launcher, still runs after it")

        #expect(symlink(target, applier.temp) == 0)
        guard case .failed(let message) = try applier.apply("this is not nginx config;\n") else { Issue.record("a broken config must fail"); return }
        #expect(message.hasPrefix("nginx -t: "), "\(message)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n", "the symlink's target is untouched")
        #expect(try String(contentsOfFile: applier.configPath, encoding: .utf8) == text, "the previous file is back")
    }
}
