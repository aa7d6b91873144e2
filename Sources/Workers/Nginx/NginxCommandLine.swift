import EventLog
import Foundation

/// Runs the nginx binary and collects what it prints. nginx reports `-t` results on stderr.
public struct NginxCommandLine: Sendable {
    public var binary: String

    public init(binary: String) { self.binary = binary }

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
    }

    /// `nginx -p PREFIX -c PREFIX/nginx.conf -e PREFIX/logs/error.log <arguments>`; the error log is given so nginx
    /// never needs its compiled-in /var/log path.
    public func run(prefix: String, config: String, _ arguments: [String]) throws -> Result {
        let base = prefix.hasSuffix("/") ? prefix : prefix + "/"
        let result = try ChildProcess.run([binary, "-p", base, "-c", config, "-e", base + "logs/error.log"] + arguments)
        return Result(status: result.status, output: result.output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `nginx -t` on a text in a scratch prefix of its own; the message names the file as nginx.conf.
    public func test(text: String, scratchRoot: String) throws -> Result {
        let prefix = scratchRoot + "/check-\(UUID().uuidString.lowercased())"
        try FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let config = prefix + "/nginx.conf"
        try text.write(toFile: config, atomically: false, encoding: .utf8)
        var result = try run(prefix: prefix, config: config, ["-t", "-q"])
        result.output = result.output.replacingOccurrences(of: config, with: "nginx.conf").replacingOccurrences(of: prefix + "/", with: "")
        return result
    }
}
