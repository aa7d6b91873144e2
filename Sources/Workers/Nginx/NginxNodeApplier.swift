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
        let running = isRunning()
        let signal = try nginx.run(prefix: prefix, config: configPath, running ? ["-s", "reload"] : [])
        guard signal.status == 0 else {
            try restore()
            return .failed("nginx \(running ? "-s reload" : "start"): " + signal.output)
        }
        let elapsed = ContinuousClock.now - started
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return .applied(milliseconds: ms, started: !running)
    }

    /// The master's pid from logs/nginx.pid, if that process is alive.
    public func isRunning() -> Bool {
        guard let text = try? String(contentsOfFile: prefix + "/logs/nginx.pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return false }
        return kill(pid, 0) == 0
    }

    /// Stops the node's nginx (tests and benchmarks).
    public func stop() {
        _ = try? nginx.run(prefix: prefix, config: configPath, ["-s", "stop"])
    }
}
