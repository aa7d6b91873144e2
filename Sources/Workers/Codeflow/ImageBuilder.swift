import EventLog
import Foundation

/// Images without a Docker daemon: `buildah bud` (chroot isolation, vfs storage under the build root) and
/// `buildah push` to the registry, which answers the digest.
struct ImageBuilder {
    let settings: BuildSettings
    let buildah: String

    init(settings: BuildSettings) throws {
        guard let buildah = settings.buildah else { throw BuildFailure("buildah is not installed on this node (set WHARF_BUILDAH or install it)") }
        self.settings = settings
        self.buildah = buildah
    }

    private var storage: [String] {
        [buildah, "--root", settings.root + "/storage", "--runroot", settings.root + "/run", "--storage-driver", "vfs"]
    }

    private var registryOptions: [String] {
        var options = ["--tls-verify=\(settings.registryInsecure ? "false" : "true")"]
        if settings.registryUser != nil { options += ["--authfile", settings.root + "/registry-auth.json"] }
        return options
    }

    /// Credentials go to buildah in a private file, never on its command line.
    func writeAuthFile() throws {
        guard let user = settings.registryUser, let password = settings.registryPassword, let registry = settings.registry else { return }
        let auth = Data("\(user):\(password)".utf8).base64EncodedString()
        let json = try JSONSerialization.data(withJSONObject: ["auths": [registry: ["auth": auth]]])
        let path = settings.root + "/registry-auth.json"
        FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        try json.write(to: URL(fileURLWithPath: path))
    }

    func build(context: String, dockerfile: String, tag: String, log: BuildLogFile, timeLimit: Duration,
               cancellation: ChildProcess.Cancellation) async throws {
        try await BuildStep.run(storage + ["bud", "--isolation", "chroot", "--pull-always=false", "--layers=false"] + registryOptions
                                    + ["-f", dockerfile, "-t", tag, context],
                                what: "buildah bud", log: log, environment: Self.environment, timeLimit: timeLimit, cancellation: cancellation)
    }

    /// Pushes `tag` and returns the manifest digest the registry stored.
    func push(_ tag: String, log: BuildLogFile, cancellation: ChildProcess.Cancellation) async throws -> String {
        let digestFile = settings.root + "/run/digest-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: digestFile) }
        try await BuildStep.run(storage + ["push"] + registryOptions + ["--digestfile", digestFile, tag, "docker://\(tag)"],
                                what: "buildah push", log: log, environment: Self.environment, timeLimit: .seconds(1200), cancellation: cancellation)
        let digest = (try? String(contentsOfFile: digestFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard CodeflowValidationBridge.isDigest(digest) else { throw BuildFailure("buildah push wrote no digest for \(tag)") }
        return digest
    }

    /// Drops the local copy (the registry keeps it); vfs storage copies every layer, so it is not kept around.
    func remove(_ tag: String) async {
        _ = try? await BuildStep.output(storage + ["rmi", "--force", tag])
    }

    static let environment: [String] = {
        var env = ["LANG=C.UTF-8", "BUILDAH_ISOLATION=chroot"]
        for name in ["PATH", "HOME", "TMPDIR", "http_proxy", "https_proxy", "no_proxy"] {
            if let v = ProcessInfo.processInfo.environment[name] { env.append("\(name)=\(v)") }
        }
        return env
    }()
}

extension CodeflowValidationBridge {
    static func isDigest(_ d: String) -> Bool {
        d.hasPrefix("sha256:") && d.utf8.count == 71 && d.utf8.dropFirst(7).allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
