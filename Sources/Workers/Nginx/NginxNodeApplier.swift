import Foundation

/// Applies a config text to one nginx node's prefix the safe way: write a temp file, rename it over nginx.conf,
/// `nginx -t`, then reload (SIGHUP to the master, as `nginx -s reload` does) or start nginx when it is not running.
/// When the test or the reload fails, the previous file is put back, so the live config is untouched.
public struct NginxNodeApplier: Sendable {
    public let nginx: NginxCommandLine
    public let prefix: String

    public init(nginx: NginxCommandLine, prefix: String) {
        self.nginx = nginx
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
    }

    public var configPath: String { prefix + "/nginx.conf" }

    public enum Outcome: Sendable {
        /// `milliseconds`: from writing the file until nginx serves the new config (new workers running), nginx -t
        /// included. `retiredMilliseconds`: until the old workers have gone too, so only the new config serves; nginx's
        /// master pauses 100 ms after starting new workers before it asks the old ones to leave. nil when nginx was
        /// started rather than reloaded.
        case applied(milliseconds: Double, retiredMilliseconds: Double?, started: Bool)
        case failed(String)
    }

    /// The live file's bytes, nil when there is none.
    public func live() -> Data? { FileManager.default.contents(atPath: configPath) }

    public func apply(_ text: String) throws -> Outcome {
        let clock = ContinuousClock()
        let started = clock.now
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
        guard let master = masterPID() else {
            let start = try nginx.run(prefix: prefix, config: configPath, [])
            guard start.status == 0 else {
                try restore()
                return .failed("nginx start: " + start.output)
            }
            return .applied(milliseconds: (clock.now - started).milliseconds, retiredMilliseconds: nil, started: true)
        }
        // SIGHUP is what `nginx -s reload` sends; sending it ourselves saves starting a second nginx that parses
        // the whole config again only to find the pid file.
        let oldWorkers = children(of: master)
        guard kill(master, SIGHUP) == 0 else {
            try restore()
            return .failed("nginx reload: cannot signal the master (pid \(master)): \(String(cString: strerror(errno)))")
        }
        // A reload is asynchronous. New workers mean the master accepted the new config; none within 5 s means it
        // refused it at run time (e.g. a port in use) and kept the old one.
        let deadline = clock.now + .seconds(5)
        var current = children(of: master)
        while clock.now < deadline, current.isSubset(of: oldWorkers) {
            usleep(1_000)
            current = children(of: master)
        }
        guard !current.isSubset(of: oldWorkers) else {
            try restore()
            return .failed("nginx -s reload did not start new workers within 5 s; see logs/error.log")
        }
        let serving = (clock.now - started).milliseconds
        // Old workers leave once their requests finish; until then they may still take a new connection.
        while clock.now < deadline, !current.isDisjoint(with: oldWorkers) {
            usleep(2_000)
            current = children(of: master)
        }
        return .applied(milliseconds: serving, retiredMilliseconds: (clock.now - started).milliseconds, started: false)
    }

    /// Whether the node's nginx master (logs/nginx.pid) is alive.
    public func isRunning() -> Bool { masterPID() != nil }

    func masterPID() -> Int32? {
        guard let text = try? String(contentsOfFile: prefix + "/logs/nginx.pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 else { return nil }
        return pid
    }

    /// The master's live children (workers, cache helpers), from /proc: the kernel's list of the master's
    /// children where it keeps one, else a scan of every process's parent.
    func children(of master: Int32) -> Set<Int32> {
        if let list = try? String(contentsOfFile: "/proc/\(master)/task/\(master)/children", encoding: .utf8) {
            return Set(list.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.filter { !isZombie($0) })
        }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var out = Set<Int32>()
        for entry in entries {
            guard let pid = Int32(entry), let fields = statFields(pid) else { continue }
            if fields.count > 1, fields[0] != "Z", Int32(fields[1]) == master { out.insert(pid) }
        }
        return out
    }

    private func isZombie(_ pid: Int32) -> Bool { statFields(pid).map { $0.first == "Z" } ?? true }

    /// The fields of /proc/PID/stat after "(comm)": state, ppid, ...
    private func statFields(_ pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// Stops the node's nginx (tests and benchmarks).
    public func stop() {
        _ = try? nginx.run(prefix: prefix, config: configPath, ["-s", "stop"])
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
