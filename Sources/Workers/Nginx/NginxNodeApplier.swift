import EventLog
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
    /// Where the next nginx.conf is written before it is renamed over the live one.
    public var temp: String { configPath + ".wharf-tmp" }

    public enum Outcome: Sendable {
        /// `milliseconds`: from writing the file until nginx serves the new config (new workers running), nginx -t
        /// included. `retiredMilliseconds`: until the old workers have gone too, so only the new config serves; nginx's
        /// master pauses 100 ms after starting new workers before it asks the old ones to leave. nil when nginx was
        /// started rather than reloaded, or when old workers were still finishing requests 5 s after the new ones ran.
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
        // Written exclusively (O_EXCL|O_NOFOLLOW, 0600) and renamed: a symlink planted at the temp path is removed,
        // never written through.
        try PrivateFile.replace(configPath, with: Data(text.utf8), temp: temp)
        func restore() throws {
            if let previous {
                try PrivateFile.replace(configPath, with: previous, temp: temp)
            } else {
                try? FileManager.default.removeItem(atPath: configPath)
            }
        }
        let test = try nginx.run(prefix: prefix, config: configPath, ["-t", "-q"])
        guard test.status == 0, !test.timedOut else {
            try restore()
            return .failed(test.message("nginx -t", timeLimit: nginx.timeLimit).replacingOccurrences(of: configPath, with: "nginx.conf"))
        }
        guard let master = masterPID() else {
            // The launcher exits as soon as the daemon has forked (nginx detaches it with setsid), so the time limit
            // bounds the launcher only; a daemon that starts is never killed by it.
            let start = try nginx.run(prefix: prefix, config: configPath, [])
            guard start.status == 0, !start.timedOut else {
                try restore()
                return .failed(start.message("nginx start", timeLimit: nginx.timeLimit))
            }
            // The launcher exits once the daemon has forked; started means the master wrote its pid file and runs workers.
            let deadline = clock.now + .seconds(5)
            while clock.now < deadline, masterPID().map({ childrenByScan(of: $0).isEmpty }) ?? true { usleep(1_000) }
            guard let master = masterPID(), !childrenByScan(of: master).isEmpty else {
                try restore()
                return .failed("nginx start: no master with workers within 5 s; see logs/error.log")
            }
            return .applied(milliseconds: (clock.now - started).milliseconds, retiredMilliseconds: nil, started: true)
        }
        // The workers before the reload, from a full scan of /proc: the kernel's children list may leave out
        // children that exit while it is read, and an old worker missed here would later pass for a new one.
        let oldWorkers = childrenByScan(of: master)
        // SIGHUP is what `nginx -s reload` sends; sending it ourselves saves starting a second nginx that parses
        // the whole config again only to find the pid file.
        guard kill(master, SIGHUP) == 0 else {
            try restore()
            return .failed("nginx reload: cannot signal the master (pid \(master)): \(String(cString: strerror(errno)))")
        }
        // A reload is asynchronous. New workers mean the master accepted the new config; none within 5 s means it
        // refused it at run time (e.g. a port in use) and kept the old one. Polled through the cheap children list:
        // a child it leaves out only delays the answer.
        var deadline = clock.now + .seconds(5)
        var fresh = Set<Int32>()
        while clock.now < deadline {
            fresh = children(of: master).subtracting(oldWorkers)
            if !fresh.isEmpty { break }
            usleep(1_000)
        }
        guard !fresh.isEmpty else {
            try restore()
            return .failed("nginx reload (SIGHUP) did not start new workers within 5 s; see logs/error.log")
        }
        let serving = (clock.now - started).milliseconds
        // Old workers leave once their requests finish; until then they may still take a new connection. Each is
        // checked by its pid.
        deadline = clock.now + .seconds(5)
        var remaining = oldWorkers
        while !remaining.isEmpty, clock.now < deadline {
            remaining = remaining.filter { isChild($0, of: master) }
            if !remaining.isEmpty { usleep(2_000) }
        }
        return .applied(milliseconds: serving, retiredMilliseconds: remaining.isEmpty ? (clock.now - started).milliseconds : nil, started: false)
    }

    /// Whether the node's nginx master (logs/nginx.pid) is alive.
    public func isRunning() -> Bool { masterPID() != nil }

    /// The pid in logs/nginx.pid when that process is alive and is nginx (a stale pid file may name a process
    /// that reused the number; it must not get our signals).
    func masterPID() -> Int32? {
        guard let text = try? String(contentsOfFile: prefix + "/logs/nginx.pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0,
              let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8), comm.hasPrefix("nginx") else { return nil }
        return pid
    }

    /// The master's live children (workers, cache helpers) from the kernel's list of its children, which is cheap
    /// but may leave out children that exit while it is read; a scan of /proc where there is no such list.
    func children(of master: Int32) -> Set<Int32> {
        guard let list = try? String(contentsOfFile: "/proc/\(master)/task/\(master)/children", encoding: .utf8) else {
            return childrenByScan(of: master)
        }
        return Set(list.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.filter { isChild($0, of: master) })
    }

    /// The master's live children, from every process's parent in /proc.
    func childrenByScan(of master: Int32) -> Set<Int32> {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return Set(entries.compactMap { Int32($0) }.filter { isChild($0, of: master) })
    }

    /// Whether `pid` is alive (not a zombie) and `master`'s child.
    private func isChild(_ pid: Int32, of master: Int32) -> Bool {
        guard let fields = statFields(pid), fields.count > 1 else { return false }
        return fields[0] != "Z" && Int32(fields[1]) == master
    }

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
