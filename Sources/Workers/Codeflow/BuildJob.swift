import Crypto
import EventLog
import Events
import Foundation
import Logging

/// One build, start to end: fetch into the kept mirror, export the commit, run the build script in the sandbox,
/// make (or reuse) the preprocess layer, build the image, push it, and say how it went as a `FinishBuild`.
/// Every phase's time is measured; the log file gets every step's output as it comes.
struct BuildJob {
    let build: BuildQueued
    let settings: BuildSettings
    let registry: RegistryClient
    let runner: String
    let logger: Logger
    let cancellation: ChildProcess.Cancellation

    /// The report for the log; nil when the build was cancelled (the log already says so).
    func run() async -> FinishBuild? {
        var phases: BuildPhases = [:]
        var commit = build.commit
        var cacheHit: Bool?
        let log: BuildLogFile
        do { log = try BuildLogFile(directory: settings.logDirectory, buildId: build.id) } catch {
            return FinishBuild(id: build.id, runner: runner, outcome: .failed, commit: commit, phases: phases, reason: "\(error)")
        }
        let workspace = settings.root + "/work/" + build.id
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        func timed<T>(_ phase: String, _ body: () async throws -> T) async throws -> T {
            let started = ContinuousClock.now
            log.line("== \(phase)")
            defer {
                let (s, a) = (ContinuousClock.now - started).components
                phases[phase] = Int(s * 1000 + a / 1_000_000_000_000_000)
            }
            return try await body()
        }
        log.line("build \(build.id) of codeflow \(build.codeflow) for service \(build.spec.service): \(build.ref)\(build.commit.map { " at \($0)" } ?? "") on \(runner)")
        do {
            let spec = build.spec
            guard let registryHost = settings.registry else { throw BuildFailure("no registry is set on this node (WHARF_REGISTRY)") }
            let images = try ImageBuilder(settings: settings)
            try images.writeAuthFile()
            try? FileManager.default.removeItem(atPath: workspace)
            try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let source = workspace + "/src"
            // fetch: the kept mirror, then the exact commit into a scratch tree.
            let mirror = try GitMirror(root: settings.root)
            commit = try await timed("fetch") {
                try await mirror.update(spec.repository, log: log, cancellation: cancellation)
                let resolved = try await mirror.resolve(spec.repository, ref: build.ref, commit: build.commit)
                log.line("commit \(resolved)")
                try await mirror.export(spec.repository, commit: resolved, to: source, log: log, cancellation: cancellation)
                return resolved
            }
            let sha = commit!
            // script: the team's build, sandboxed.
            try await timed("script") {
                let started = ContinuousClock.now
                do {
                    try await ScriptSandbox(settings: settings).run(spec.buildScript, workspace: workspace, what: "the build script",
                                                                     timeLimitSeconds: spec.timeLimitSeconds, log: log, cancellation: cancellation)
                } catch let failure as BuildFailure where ContinuousClock.now - started >= .seconds(spec.timeLimitSeconds) {
                    _ = failure
                    throw BuildFailure("the build script ran past its time limit of \(spec.timeLimitSeconds) s and was killed")
                }
            }
            let artifact = try artifactPath(spec.artifactPath, in: source)
            // preprocess: a layer keyed by its inputs, reused while they stay the same.
            guard let baseDigest = try await registry.digest(of: spec.baseImage) else {
                throw BuildFailure("base image \(spec.baseImage) is not in its registry")
            }
            guard let baseRef = RegistryClient.Reference(spec.baseImage) else { throw BuildFailure("base image \(spec.baseImage) names no registry") }
            var from = baseRef.pinned(baseDigest)
            log.line("base image \(spec.baseImage) is \(baseDigest)")
            if let preprocess = spec.preprocessScript {
                from = try await timed("preprocess") {
                    let key = try preprocessKey(script: preprocess, baseDigest: baseDigest, files: spec.dependencyFiles ?? [], source: source)
                    let cacheTag = "\(registryHost)/wharf-cache/\(build.codeflow):\(key.prefix(40))"
                    if let cached = try await registry.digest(of: cacheTag) {
                        cacheHit = true
                        log.line("preprocess cache hit: \(cacheTag) (\(cached))")
                        return RegistryClient.Reference(cacheTag)!.pinned(cached)
                    }
                    cacheHit = false
                    log.line("preprocess cache miss: building \(cacheTag)")
                    let context = workspace + "/preprocess"
                    try FileManager.default.createDirectory(atPath: context + "/deps", withIntermediateDirectories: true)
                    for file in spec.dependencyFiles ?? [] {
                        let target = context + "/deps/" + file
                        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                        try FileManager.default.copyItem(atPath: try artifactPath(file, in: source), toPath: target)
                    }
                    try Data(preprocess.utf8).write(to: URL(fileURLWithPath: context + "/preprocess.sh"))
                    try Data(Dockerfiles.preprocess(from: from, dependencyFiles: spec.dependencyFiles ?? []).utf8)
                        .write(to: URL(fileURLWithPath: context + "/Dockerfile"))
                    try await images.build(context: context, dockerfile: context + "/Dockerfile", tag: cacheTag, log: log,
                                           timeLimit: .seconds(spec.timeLimitSeconds), cancellation: cancellation)
                    let digest = try await images.push(cacheTag, log: log, cancellation: cancellation)
                    await images.remove(cacheTag)
                    return RegistryClient.Reference(cacheTag)!.pinned(digest)
                }
            }
            // image: the generated Dockerfile (or the team's) around the artifact.
            let tag = "\(registryHost)/\(build.codeflow)/\(spec.service):\(sha.prefix(12))-\(build.id.prefix(12))"
            try await timed("image") {
                if let custom = spec.dockerfile {
                    let file = workspace + "/Dockerfile.custom"
                    try Data(custom.utf8).write(to: URL(fileURLWithPath: file))
                    try await images.build(context: source, dockerfile: file, tag: tag, log: log, timeLimit: .seconds(spec.timeLimitSeconds),
                                           cancellation: cancellation)
                } else {
                    let context = workspace + "/image"
                    try FileManager.default.createDirectory(atPath: context + "/artifact", withIntermediateDirectories: true)
                    var isDirectory: ObjCBool = false
                    FileManager.default.fileExists(atPath: artifact, isDirectory: &isDirectory)
                    let target = isDirectory.boolValue ? context + "/artifact" : context + "/artifact/" + (artifact as NSString).lastPathComponent
                    if isDirectory.boolValue { try FileManager.default.removeItem(atPath: target) }
                    try FileManager.default.copyItem(atPath: artifact, toPath: target)
                    let dockerfile = Dockerfiles.application(from: from, artifact: artifact, isDirectory: isDirectory.boolValue,
                                                             startCommand: spec.startCommand,
                                                             labels: [("dev.wharf.build", build.id), ("dev.wharf.codeflow", build.codeflow),
                                                                      ("dev.wharf.commit", sha)])
                    try Data(dockerfile.utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
                    log.line(dockerfile)
                    try await images.build(context: context, dockerfile: context + "/Dockerfile", tag: tag, log: log,
                                           timeLimit: .seconds(spec.timeLimitSeconds), cancellation: cancellation)
                }
            }
            let digest = try await timed("push") { try await images.push(tag, log: log, cancellation: cancellation) }
            await images.remove(tag)
            log.line("== succeeded: \(tag) is \(digest)")
            return FinishBuild(id: build.id, runner: runner, outcome: .succeeded, commit: sha, image: tag, digest: digest, cacheHit: cacheHit,
                               phases: phases)
        } catch is BuildCancelledError {
            log.line("== cancelled")
            return nil
        } catch {
            if cancellation.isCancelled { log.line("== cancelled"); return nil }
            let reason = (error as? BuildFailure)?.description ?? "\(error)"
            log.line("== failed: \(reason)")
            return FinishBuild(id: build.id, runner: runner, outcome: .failed, commit: commit, cacheHit: cacheHit, phases: phases,
                               reason: String(reason.prefix(4000)))
        }
    }

    /// `relative` inside `source`, after symlinks: a path that leads out of the checkout is refused.
    func artifactPath(_ relative: String, in source: String) throws -> String {
        let root = URL(fileURLWithPath: source).resolvingSymlinksInPath().path
        let path = URL(fileURLWithPath: source + "/" + relative).resolvingSymlinksInPath().path
        guard path == root || path.hasPrefix(root + "/") else { throw BuildFailure("\(relative) leads out of the checkout") }
        guard FileManager.default.fileExists(atPath: path) else { throw BuildFailure("\(relative) does not exist after the build script") }
        return path
    }

    /// sha256 over the script, the base image's digest and each named file's path and content.
    func preprocessKey(script: String, baseDigest: String, files: [String], source: String) throws -> String {
        var hasher = SHA256()
        hasher.update(data: Array("wharf preprocess v1\n\(baseDigest)\n".utf8))
        hasher.update(data: Array(SHA256.hash(data: Array(script.utf8))))
        for file in files.sorted() {
            let data = try Data(contentsOf: URL(fileURLWithPath: try artifactPath(file, in: source)))
            hasher.update(data: Array("\n\(file)\n".utf8))
            hasher.update(data: Array(SHA256.hash(data: data)))
        }
        return HashChain.hex(hasher.finalize())
    }
}
