import Crypto
import EventLog
import Events
import Foundation

/// One kept mirror per repository (`<root>/mirrors/<hash>.git`): cloned once, then only fetched. A build exports its
/// exact commit from the mirror into a scratch directory (`git archive`), so build scripts never see the mirror and
/// a repository is fetched, not cloned, on every build after the first.
struct GitMirror {
    let git: String
    let directory: String

    init(root: String) throws {
        guard let git = BuildSettings.findOnPath("git") else { throw BuildFailure("git is not installed on this node") }
        self.git = git
        directory = root + "/mirrors"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    func path(of repository: String) -> String {
        let key = HashChain.hex(SHA256.hash(data: Array(RepositoryKey.normalize(repository).utf8)))
        return "\(directory)/\(key.prefix(32)).git"
    }

    /// No prompts (a build must not hang on a password), no system config, ssh without questions.
    static let environment: [String] = {
        var env = ["GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_ASKPASS=/bin/false", "LANG=C.UTF-8",
                   "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new"]
        for name in ["PATH", "HOME", "SSH_AUTH_SOCK", "http_proxy", "https_proxy", "no_proxy"] {
            if let v = ProcessInfo.processInfo.environment[name] { env.append("\(name)=\(v)") }
        }
        return env
    }()

    /// Clones the mirror when it is missing, fetches it otherwise; under a lock file, so builds of one repository
    /// (in this process or another) take turns.
    func update(_ repository: String, log: BuildLogFile, cancellation: ChildProcess.Cancellation) async throws {
        let mirror = path(of: repository)
        let lockFd = open(mirror + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFd >= 0 else { throw BuildFailure("cannot open the lock of mirror \(mirror)") }
        defer { close(lockFd) }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread { flock(lockFd, LOCK_EX); c.resume() }.start()
        }
        defer { flock(lockFd, LOCK_UN) }
        if FileManager.default.fileExists(atPath: mirror + "/HEAD") {
            log.line("mirror \(mirror) is kept: fetching")
            try await BuildStep.run([git, "--git-dir=\(mirror)", "fetch", "--prune", "--quiet", "origin", "+refs/*:refs/*"],
                                    what: "git fetch", log: log, environment: Self.environment, timeLimit: .seconds(600), cancellation: cancellation)
        } else {
            try? FileManager.default.removeItem(atPath: mirror)
            try await BuildStep.run([git, "clone", "--mirror", "--quiet", "--", repository, mirror], what: "git clone --mirror", log: log,
                                    environment: Self.environment, timeLimit: .seconds(1200), cancellation: cancellation)
        }
    }

    /// The commit to build: the given one (which must be in the mirror), or what `ref` names now.
    func resolve(_ repository: String, ref: String, commit: String?) async throws -> String {
        let mirror = path(of: repository)
        if let commit {
            let r = try await BuildStep.output([git, "--git-dir=\(mirror)", "cat-file", "-e", "\(commit)^{commit}"])
            guard r.status == 0 else { throw BuildFailure("commit \(commit) is not in \(repository) (pushed over, or not pushed yet)") }
            return commit
        }
        let candidates = ref.hasPrefix("refs/") ? [ref] : ["refs/heads/\(ref)", "refs/tags/\(ref)"]
        for candidate in candidates {
            let r = try await BuildStep.output([git, "--git-dir=\(mirror)", "rev-parse", "--verify", "--quiet", "--end-of-options", "\(candidate)^{commit}"])
            let sha = r.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if r.status == 0, CodeflowValidationBridge.isCommit(sha) { return sha }
        }
        throw BuildFailure("\(ref) names no branch or tag of \(repository)")
    }

    /// Writes the files of `commit` into `destination` (no .git: scripts build from the tree, not the history).
    func export(_ repository: String, commit: String, to destination: String, log: BuildLogFile, cancellation: ChildProcess.Cancellation) async throws {
        let mirror = path(of: repository)
        let tar = destination + ".tar"
        defer { try? FileManager.default.removeItem(atPath: tar) }
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        try await BuildStep.run([git, "--git-dir=\(mirror)", "archive", "--format=tar", "-o", tar, commit], what: "git archive", log: log,
                                environment: Self.environment, timeLimit: .seconds(600), cancellation: cancellation)
        guard let tarProgram = BuildSettings.findOnPath("tar") else { throw BuildFailure("tar is not installed on this node") }
        try await BuildStep.run([tarProgram, "-x", "--no-same-owner", "-f", tar, "-C", destination], what: "tar -x", log: log,
                                timeLimit: .seconds(600), cancellation: cancellation)
    }
}

/// Commit ids as the validation knows them (Workers does not link Commands).
enum CodeflowValidationBridge {
    static func isCommit(_ c: String) -> Bool {
        (c.utf8.count == 40 || c.utf8.count == 64) && c.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
