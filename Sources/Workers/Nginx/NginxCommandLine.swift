import EventLog
import Foundation

/// Runs the nginx binary and collects what it prints. nginx reports `-t` results on stderr.
public struct NginxCommandLine: Sendable {
    public var binary: String
    /// How long one nginx run may take before it is killed (SIGKILL) and reported as timed out. `nginx -t` takes
    /// milliseconds; one that hangs (a blocked file system, a stuck resolver) must not hold a worker forever. Starting
    /// nginx is within it too: the launcher exits once the daemon has forked, and the daemon is not waited for.
    public var timeLimit: Duration

    public static let defaultTimeLimit: Duration = .seconds(30)

    public init(binary: String, timeLimit: Duration = defaultTimeLimit) { self.binary = binary; self.timeLimit = timeLimit }

    /// WHARF_NGINX, else the nginx on PATH (or Debian's /usr/sbin/nginx); nil when there is none.
    public static func find(_ configured: String? = nil) -> NginxCommandLine? {
        if let configured = configured ?? ProcessInfo.processInfo.environment["WHARF_NGINX"] { return FileManager.default.isExecutableFile(atPath: configured) ? NginxCommandLine(binary: configured) : nil }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/local/sbin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/nginx"
            if FileManager.default.isExecutableFile(atPath: candidate) { return NginxCommandLine(binary: candidate) }
        }
        return nil
    }

    public struct Result: Sendable {
        public var status: Int32
        public var output: String
        /// nginx ran past `timeLimit` and was killed.
        public var timedOut = false

        /// The output, or what happened when nginx was killed at the time limit.
        public func message(_ what: String, timeLimit: Duration) -> String {
            timedOut ? "\(what) did not finish within \(timeLimit) and was killed" + (output.isEmpty ? "" : ": \(output)") : "\(what): \(output)"
        }
    }

    /// `nginx -p PREFIX -c PREFIX/nginx.conf -e PREFIX/logs/error.log <arguments>`; the error log is given so nginx
    /// never needs its compiled-in /var/log path.
    public func run(prefix: String, config: String, _ arguments: [String]) throws -> Result {
        let base = prefix.hasSuffix("/") ? prefix : prefix + "/"
        let result = try ChildProcess.run([binary, "-p", base, "-c", config, "-e", base + "logs/error.log"] + arguments, timeLimit: timeLimit)
        return Result(status: result.status, output: result.output.trimmingCharacters(in: .whitespacesAndNewlines), timedOut: result.timedOut)
    }

    /// `nginx -t` on a text in a scratch prefix of its own under `scratchRoot` (e.g. /tmp): a fresh directory from
    /// mkdtemp (random name, mode 0700), so nobody can predict it, plant files in it or read the text; the config
    /// is written with O_EXCL. The message names the file as nginx.conf.
    public func test(text: String, scratchRoot: String) throws -> Result {
        let prefix = try PrivateFile.makeDirectory(in: scratchRoot, prefix: "wharf-nginx-check.")
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        guard mkdir(prefix + "/logs", 0o700) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        let config = prefix + "/nginx.conf"
        let fd = try PrivateFile.create(config)
        do {
            defer { close(fd) }
            try PrivateFile.writeAll(fd, Data(text.utf8), path: config)
        }
        var result = try run(prefix: prefix, config: config, ["-t", "-q"])
        result.output = result.output.replacingOccurrences(of: config, with: "nginx.conf").replacingOccurrences(of: prefix + "/", with: "")
        return result
    }
}
