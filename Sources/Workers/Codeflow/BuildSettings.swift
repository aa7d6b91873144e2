import Foundation

/// How this node builds images: where it keeps mirrors, workspaces and logs, which registry it pushes to, how many
/// builds run at once and as whom build scripts run. From the environment (see `wharf serve --help`).
public struct BuildSettings: Sendable {
    /// Mirrors, workspaces, buildah storage and logs live under here (`$WHARF_DATA_DIR/builds`).
    public var root: String
    /// `host:port` of the registry images are pushed to (WHARF_REGISTRY); nil: no build worker on this node.
    public var registry: String?
    public var registryUser: String?
    public var registryPassword: String?
    /// Plain HTTP and no TLS checks towards the registry: loopback registries (the embedded default), or
    /// WHARF_REGISTRY_INSECURE=1.
    public var registryInsecure: Bool
    /// Builds run at once on this node (WHARF_BUILD_PARALLELISM, default 2).
    public var parallelism: Int
    /// The unprivileged user and group build scripts run as when Wharf runs as root (WHARF_BUILD_UID, default 65534).
    public var buildUID: UInt32
    public var buildGID: UInt32
    /// Address-space limit of a build script, in MiB (WHARF_BUILD_MEMORY_MB, default 4096).
    public var memoryMiB: Int
    /// Process limit of the build user while a script runs (WHARF_BUILD_MAX_PROCESSES, default 1024).
    public var maxProcesses: Int
    /// buildah (WHARF_BUILDAH, else found on PATH).
    public var buildah: String?

    public var logDirectory: String { root + "/logs" }

    public init(root: String, registry: String?, registryUser: String? = nil, registryPassword: String? = nil, registryInsecure: Bool? = nil,
                parallelism: Int = 2, buildUID: UInt32 = 65534, buildGID: UInt32 = 65534, memoryMiB: Int = 4096, maxProcesses: Int = 1024,
                buildah: String? = BuildSettings.findOnPath("buildah")) {
        self.root = root; self.registry = registry; self.registryUser = registryUser; self.registryPassword = registryPassword
        self.registryInsecure = registryInsecure ?? registry.map(BuildSettings.isLoopback) ?? false
        self.parallelism = parallelism; self.buildUID = buildUID; self.buildGID = buildGID; self.memoryMiB = memoryMiB
        self.maxProcesses = maxProcesses; self.buildah = buildah
    }

    public struct Invalid: Error, CustomStringConvertible { public var description: String }

    public static func fromEnvironment(_ env: [String: String], dataDirectory: String) throws -> BuildSettings {
        func int(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let text = env[name], !text.isEmpty else { return fallback }
            guard let v = Int(text), range.contains(v) else { throw Invalid(description: "\(name) must be an integer in \(range) (got \"\(text)\")") }
            return v
        }
        let registry = env["WHARF_REGISTRY"].flatMap { $0.isEmpty ? nil : $0 }
        if let r = registry, !isRegistryHost(r) {
            throw Invalid(description: "WHARF_REGISTRY must be host[:port] of a registry, such as 127.0.0.1:5000 or harbor.example.com (got \"\(r)\")")
        }
        let insecure = env["WHARF_REGISTRY_INSECURE"].flatMap { $0.isEmpty ? nil : $0 == "1" || $0 == "true" }
        let uid = try int("WHARF_BUILD_UID", 65534, 1...Int(Int32.max))
        return BuildSettings(root: dataDirectory + "/builds", registry: registry, registryUser: env["WHARF_REGISTRY_USER"].flatMap { $0.isEmpty ? nil : $0 },
                             registryPassword: env["WHARF_REGISTRY_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }, registryInsecure: insecure,
                             parallelism: try int("WHARF_BUILD_PARALLELISM", 2, 1...64), buildUID: UInt32(uid), buildGID: UInt32(uid),
                             memoryMiB: try int("WHARF_BUILD_MEMORY_MB", 4096, 64...1_048_576),
                             maxProcesses: try int("WHARF_BUILD_MAX_PROCESSES", 1024, 16...1_000_000),
                             buildah: env["WHARF_BUILDAH"].flatMap { $0.isEmpty ? nil : $0 } ?? findOnPath("buildah"))
    }

    static func isRegistryHost(_ r: String) -> Bool {
        let parts = r.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let host = parts.first, !host.isEmpty,
              host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) else { return false }
        if parts.count == 2 { return Int(parts[1]).map { (1...65535).contains($0) } ?? false }
        return true
    }

    static func isLoopback(_ registry: String) -> Bool {
        let host = registry.split(separator: ":").first.map(String.init) ?? ""
        return host == "127.0.0.1" || host == "localhost" || host.hasPrefix("127.")
    }

    public static func findOnPath(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
