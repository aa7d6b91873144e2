import Foundation

/// Applies a config text to one nginx node's prefix the safe way: write a temp file, rename it over nginx.conf,
/// `nginx -t`, then reload (or start nginx when it is not running). When the test or the reload fails, the
/// previous file is put back, so the live config is untouched.
public struct NginxNodeApplier: Sendable {
    public let nginx: NginxCommandLine
    public let prefix: String

    public init(nginx: NginxCommandLine, prefix: String) {
        self.nginx = nginx
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
    }

    public var configPath: String { prefix + "/nginx.conf" }

    public enum Outcome: Sendable {
        case applied(milliseconds: Double, started: Bool)
        case failed(String)
    }

    /// The live file's bytes, nil when there is none.
    public func live() -> Data? { FileManager.default.contents(atPath: configPath) }

    public func apply(_ text: String) throws -> Outcome {
        let started = ContinuousClock.now
        try FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        let previous = live()
        let temp = configPath + ".wharf-tmp"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temp))
        guard rename(temp, configPath) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        func restore() throws {
            if let previous {
                try previous.write(to: URL(fileURLWithPath: temp))
                _ = rename(temp, configPath)
            } else {
                try? FileManager.default.removeItem(atPath: configPath)
            }
        }
        let test = try nginx.run(prefix: prefix, config: configPath, ["-t", "-q"])
        guard test.status == 0 else {
            try restore()
            return .failed("nginx -t: " + test.output.replacingOccurrences(of: configPath, with: "nginx.conf"))
        }
        let master = masterPID()
        let running = master != nil
        let oldWorkers = master.map(children) ?? []
        let signal = try nginx.run(prefix: prefix, config: configPath, running ? ["-s", "reload"] : [])
        guard signal.status == 0 else {
            try restore()
            return .failed("nginx \(running ? "-s reload" : "start"): " + signal.output)
        }
        // A reload is asynchronous: applied means new workers serve and the old ones have gone (they leave once their
        // requests finish). No new workers means the master refused the new config at run time (e.g. a port in use).
        if let master {
            let deadline = ContinuousClock.now + .seconds(5)
            var current = children(of: master)
            while ContinuousClock.now < deadline, current.isSubset(of: oldWorkers) || !current.isDisjoint(with: oldWorkers) {
                usleep(2_000)
                current = children(of: master)
            }
            if current.isSubset(of: oldWorkers) {
                try restore()
                return .failed("nginx -s reload did not start new workers within 5 s; see logs/error.log")
            }
        }
        let elapsed = ContinuousClock.now - started
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return .applied(milliseconds: ms, started: !running)
    }

    /// Whether the node's nginx master (logs/nginx.pid) is alive.
    public func isRunning() -> Bool { masterPID() != nil }

    func masterPID() -> Int32? {
        guard let text = try? String(contentsOfFile: prefix + "/logs/nginx.pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 else { return nil }
        return pid
    }

    /// The master's live children (workers, cache helpers), from /proc.
    func children(of master: Int32) -> Set<Int32> {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var out = Set<Int32>()
        for entry in entries {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Fields after "(comm)": state, ppid, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, fields[0] != "Z", Int32(fields[1]) == master { out.insert(pid) }
        }
        return out
    }

    /// Stops the node's nginx (tests and benchmarks).
    public func stop() {
        _ = try? nginx.run(prefix: prefix, config: configPath, ["-s", "stop"])
    }
}
