import EventLog
import Foundation
import Logging

/// Where the real services started by ops/test are. Tests fail loudly (never skip) when one is missing.
public enum TestEnvironment {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public static var logger: Logger {
        var logger = Logger(label: "wharf-test")
        logger.logLevel = ProcessInfo.processInfo.environment["WHARF_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
        return logger
    }

    /// The test Postgres (WHARF_TEST_DATABASE_URL, set by ops/test).
    public static func postgres() throws -> DatabaseSettings {
        guard let url = ProcessInfo.processInfo.environment["WHARF_TEST_DATABASE_URL"], !url.isEmpty else {
            throw Missing(description: "WHARF_TEST_DATABASE_URL is not set: run the suite through ops/test, which starts Postgres")
        }
        return try DatabaseSettings(url: url)
    }

    /// A fresh, empty database for one test, and an open pool on it.
    public static func scratchDatabase(_ prefix: String = "wharf_test") async throws -> Database {
        let settings = try await Database.createScratch(base: try postgres(), prefix: prefix, logger: logger)
        return try await Database.open(settings, logger: logger)
    }

    /// The repository root (for schemas/, ops/, and the built binary).
    public static var repositoryRoot: URL {
        if let root = ProcessInfo.processInfo.environment["WHARF_ROOT"], !root.isEmpty { return URL(fileURLWithPath: root) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The test registry (WHARF_TEST_REGISTRY, host:port, set by ops/test) and the base image ops/test pushed to it.
    public static func registry() throws -> (registry: String, baseImage: String) {
        let env = ProcessInfo.processInfo.environment
        guard let registry = env["WHARF_TEST_REGISTRY"], !registry.isEmpty, let base = env["WHARF_TEST_BASE_IMAGE"], !base.isEmpty else {
            throw Missing(description: "WHARF_TEST_REGISTRY / WHARF_TEST_BASE_IMAGE are not set: run the suite through ops/test, which starts a registry")
        }
        return (registry, base)
    }

    /// The wharf executable built with the tests (WHARF_BIN, or .build/debug/wharf).
    public static func wharfBinary() throws -> String {
        let path = ProcessInfo.processInfo.environment["WHARF_BIN"].flatMap { $0.isEmpty ? nil : $0 }
            ?? repositoryRoot.appendingPathComponent(".build/debug/wharf").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Missing(description: "wharf binary not found at \(path): build with `swift build --build-tests` (ops/test does)")
        }
        return path
    }

    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw Missing(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
