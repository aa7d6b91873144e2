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
        let argv = [binary, "-p", base, "-c", config, "-e", base + "logs/error.log"] + arguments
        // posix_spawn and waitpid rather than Foundation's Process: a starting nginx daemonizes and its daemon keeps
        // every inherited descriptor, which makes Process (and any pipe) wait for the daemon instead of the command.
        // Output goes to a file for the same reason.
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-nginx-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, binary, &actions, nil, &cArgs, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let data = FileManager.default.contents(atPath: outputPath) ?? Data()
        return Result(status: code, output: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
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
