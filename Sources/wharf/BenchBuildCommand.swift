import ArgumentParser
import AsyncHTTPClient
import EventLog
import Events
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import Server
import Workers

struct BenchBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "A git push to a pushed image and an upgraded service: a cold build, warm builds, and a kept mirror against a fresh clone.",
        discussion: """
        Makes a repository of --commits commits (a tiny app and a requirements.txt), then runs the runtime `wharf serve`
        runs (gateway, processor signing checkpoints, projector, build worker) on a scratch database beside
        WHARF_DATABASE_URL (or the private Postgres under WHARF_DATA_DIR) behind its HTTP server on loopback, with builds
        pushed to --registry (default WHARF_REGISTRY). Each round commits a change and posts a GitLab push webhook;
        it times the webhook until the build's image is pushed and recorded (the build read model says succeeded with
        its digest) and until the service runs that digest.
        The first round is cold: no mirror yet (a fresh clone of the whole history) and no preprocess layer (the
        dependency step runs: --dependency-seconds of CPU work in the container, standing in for a pip install).
        The next --warm rounds are warm: fetch into the kept mirror, preprocess layer reused.
        Then it times git itself: a fresh `git clone --mirror` of the repository against `git fetch` of one new commit
        into a kept mirror. Leaves out: the repository's transport (file://, no network) and TLS. Needs buildah and
        root for the sandbox, as builds do. Images stay in the registry; the scratch database is dropped.
        """)

    @Option(help: "Registry host:port to push to (default: WHARF_REGISTRY).") var registry: String?
    @Option(help: "Base image the codeflow builds from (default: <registry>/wharf/base:busybox, which ops/registry base makes).")
    var baseImage: String?
    @Option(help: "Commits in the repository's history.") var commits = 1000
    @Option(help: "Seconds of CPU work the dependency (preprocess) step does when its layer is not cached.") var dependencySeconds = 20
    @Option(help: "Warm rounds after the cold one.") var warm = 3

    func run() async throws {
        guard let registry = registry ?? ProcessInfo.processInfo.environment["WHARF_REGISTRY"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ValidationError("--registry (or WHARF_REGISTRY) is required: host:port of the registry builds push to; ops/registry start makes one")
        }
        guard (1...100_000).contains(commits), (0...3600).contains(dependencySeconds), (1...20).contains(warm) else {
            throw ValidationError("--commits 1-100000, --dependency-seconds 0-3600, --warm 1-20")
        }
        let base = baseImage ?? "\(registry)/wharf/base:busybox"
        guard let buildah = BuildSettings.findOnPath("buildah") else { throw ValidationError("buildah is not installed (ops/lib.sh ensure_build_tools)") }
        var logger = makeLogger("wharf-bench")
        logger.logLevel = .warning
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-bench-build-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let repo = scratch + "/app"
        let clock = ContinuousClock()
        let made = clock.now
        try Self.makeRepository(at: repo, commits: commits)
        print(String(format: "repository: %d commits made in %.1f s (file://%@)", commits, (clock.now - made).seconds, repo))
        print("buildah \(buildah), registry \(registry), base image \(base), sandboxed: \(geteuid() == 0 ? "yes" : "no (not root)")")

        let bench = try await BenchDatabase.open(prefix: "wharf_build", logger: logger)
        let log = try await PostgresEventLog.open(database: bench.database)
        let partitions = 4
        try await log.ensureTopics(TopicSpec.spine(partitions: partitions))
        let settings = BuildSettings(root: scratch + "/builds", registry: registry, parallelism: 2)
        let runtime = try await WharfRuntime(store: WharfStore.attach(database: bench.database, log: log), partitions: partitions,
                                             registry: PrometheusCollectorRegistry(), logger: logger, signer: CheckpointSigner(privateKey: .init()),
                                             builds: settings)
        runtime.start()
        let token = TokenStore.generateToken()
        _ = try await runtime.bootstrap(token: token)
        let server = await LoopbackServer.start(runtime, logger: logger)
        let api = BenchAPI(base: server.base, token: token)
        do {
            try await rounds(api: api, repo: repo, registry: registry, base: base)
        } catch {
            server.task.cancel(); await runtime.stop(); log.close(); try? await bench.drop()
            throw error
        }
        server.task.cancel()
        await runtime.stop()
        log.close()
        try await bench.drop()
        try Self.mirrorAgainstClone(repo: repo, scratch: scratch)
    }

    func rounds(api: BenchAPI, repo: String, registry: String, base: String) async throws {
        let secret = "bench-webhook-secret-\(UUID().uuidString)"
        var position = try await api.expect(201, .POST, "/v1/business-lines", #"{"name": "bench", "displayName": "Bench"}"#)["position"] as? String ?? ""
        position = try await api.expect(201, .POST, "/v1/services?after=\(position)",
                                        #"{"name": "bench-app", "businessLine": "bench", "image": "registry.example.com/bench/app:0", "replicas": 2}"#)["position"] as? String ?? ""
        let dependencyStep = dependencySeconds == 0 ? "mkdir -p deps"
            : "mkdir -p deps; end=$(( $(date +%s) + \(dependencySeconds) )); while [ $(date +%s) -lt $end ]; do head -c 4194304 /dev/zero | sha256sum > deps/checksum; done"
        position = try await api.expect(201, .PUT, "/v1/codeflows/bench-app?after=\(position)", """
            {"service": "bench-app", "repository": "file://\(repo)", "branches": ["main"],
             "buildScript": "mkdir -p out && cp app.sh out/ && echo built", "artifactPath": "out", "startCommand": "sh app.sh",
             "baseImage": "\(base)", "preprocessScript": \(Self.json(dependencyStep)), "dependencyFiles": ["requirements.txt"],
             "webhookSecret": "\(secret)"}
            """)["position"] as? String ?? ""
        print("dependency step (preprocess, cached by requirements.txt): \(dependencySeconds) s of CPU work\n")
        print("round  cache  webhook->image pushed  ->service upgraded   fetch  script  preprocess  image   push  (ms)")
        var coldSeconds = 0.0, warmSeconds: [Double] = [], coldFetch = 0, warmFetch: [Int] = []
        let clock = ContinuousClock()
        for round in 0...warm {
            let commit = try Self.commit(repo, file: "app.sh", text: "echo round \(round)\n")
            let started = clock.now
            let hook = try await api.call(.POST, "/v1/webhooks/gitlab?after=\(position)", Self.gitlabPush(repo: repo, commit: commit),
                                          headers: ["X-Gitlab-Token": secret, "X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": UUID().uuidString.lowercased()])
            guard hook.status == 202, let id = ((hook.json["builds"] as? [[String: Any]])?.first?["id"] as? String) else {
                throw ValidationError("the webhook answered \(hook.status): \(hook.text)")
            }
            // Read after the build's own write: its row may not be projected yet when the webhook answers.
            let queuedAt = ((hook.json["builds"] as? [[String: Any]])?.first?["position"] as? String).map { "?after=\($0)" } ?? ""
            var build: [String: Any] = [:]
            while true {
                build = try await api.call(.GET, "/v1/builds/\(id)\(queuedAt)").json
                let state = build["state"] as? String ?? ""
                if state == "succeeded" { break }
                if state != "queued" && state != "running" {
                    throw ValidationError("build \(id) ended \(state): \(build["reason"] ?? "")\n\(try await api.call(.GET, "/v1/builds/\(id)/log").text.suffix(3000))")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let pushed = (clock.now - started).seconds
            let image = "\(registry)/\(((build["image"] as? String ?? "").dropFirst(registry.count + 1)).split(separator: ":").first ?? "")@\(build["digest"] as? String ?? "")"
            while try await api.call(.GET, "/v1/services/bench-app").json["image"] as? String != image {
                try await Task.sleep(for: .milliseconds(20))
            }
            let upgraded = (clock.now - started).seconds
            let phases = build["phases"] as? [String: Int] ?? [:]
            let hit = build["cacheHit"] as? Bool ?? false
            print(String(format: "%5d  %5@  %19.2f s  %16.2f s  %6d  %6d  %10d  %5d  %5d", round, hit ? "hit" : "miss", pushed, upgraded,
                         phases["fetch"] ?? 0, phases["script"] ?? 0, phases["preprocess"] ?? 0, phases["image"] ?? 0, phases["push"] ?? 0))
            fflush(stdout)
            if round == 0 { coldSeconds = pushed; coldFetch = phases["fetch"] ?? 0 } else { warmSeconds.append(pushed); warmFetch.append(phases["fetch"] ?? 0) }
            position = build["position"] as? String ?? position
        }
        let warmMedian = warmSeconds.sorted()[warmSeconds.count / 2]
        print(String(format: "\ncold %.2f s, warm median %.2f s: warm is %.1fx faster; webhook -> image pushed warm: %.2f s (goal <= 5 s)",
                     coldSeconds, warmMedian, coldSeconds / warmMedian, warmMedian))
        print(String(format: "fetch phase (includes exporting the commit): fresh clone of %d commits %d ms, kept mirror %d ms (median)",
                     commits, coldFetch, warmFetch.sorted()[warmFetch.count / 2]))
    }

    /// git alone: a fresh mirror clone of the whole history against fetching one new commit into a kept mirror.
    static func mirrorAgainstClone(repo: String, scratch: String) throws {
        let clock = ContinuousClock()
        var clones: [Double] = [], fetches: [Double] = []
        let kept = scratch + "/kept.git"
        try git(["clone", "-q", "--mirror", "file://\(repo)", kept])
        for i in 0..<3 {
            let target = scratch + "/fresh-\(i).git"
            let t0 = clock.now
            try git(["clone", "-q", "--mirror", "file://\(repo)", target])
            clones.append((clock.now - t0).milliseconds)
            try? FileManager.default.removeItem(atPath: target)
            _ = try commit(repo, file: "app.sh", text: "echo fetch \(i)\n")
            let t1 = clock.now
            try git(["--git-dir", kept, "fetch", "-q", "--prune", "origin"])
            fetches.append((clock.now - t1).milliseconds)
        }
        print(String(format: "git alone: fresh `clone --mirror` %.0f ms, `fetch` of one new commit into the kept mirror %.0f ms (medians of 3)",
                      clones.sorted()[1], fetches.sorted()[1]))
    }

    /// A repository of `commits` commits, written with one `git fast-import` (seconds, not minutes).
    static func makeRepository(at path: String, commits: Int) throws {
        try git(["init", "-q", "-b", "main", path])
        var stream = ""
        for i in 1...commits {
            let app = "echo commit \(i)\n"
            let requirements = "flask==3.0\nrequests==2.32\n"
            stream += "commit refs/heads/main\ncommitter Bench <bench@example.com> \(1_700_000_000 + i) +0000\ndata \(("change \(i)\n").utf8.count)\nchange \(i)\n"
            stream += "M 644 inline app.sh\ndata \(app.utf8.count)\n\(app)\n"
            stream += "M 644 inline requirements.txt\ndata \(requirements.utf8.count)\n\(requirements)\n"
            stream += "M 644 inline src/module\(i % 50).txt\ndata \(("module \(i)\n").utf8.count)\nmodule \(i)\n\n"
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-fast-import-\(UUID().uuidString)")
        try Data(stream.utf8).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        try shell("'\(gitPath)' -C '\(path)' fast-import --quiet < '\(input.path)' && '\(gitPath)' -C '\(path)' checkout -q -f main")
    }

    static func commit(_ repo: String, file: String, text: String) throws -> String {
        try Data(text.utf8).write(to: URL(fileURLWithPath: repo + "/" + file))
        try git(["-C", repo, "-c", "user.email=bench@example.com", "-c", "user.name=Bench", "commit", "-q", "-am", "bench change"])
        let r = try ChildProcess.run([gitPath, "-C", repo, "rev-parse", "HEAD"])
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let gitPath = BuildSettings.findOnPath("git") ?? "/usr/bin/git"

    static func git(_ args: [String]) throws {
        let r = try ChildProcess.run([gitPath] + args, timeLimit: .seconds(600))
        guard r.status == 0 else { throw ValidationError("git \(args.joined(separator: " ")) failed: \(r.output)") }
    }

    static func shell(_ script: String) throws {
        let r = try ChildProcess.run(["/bin/sh", "-c", script], timeLimit: .seconds(600))
        guard r.status == 0 else { throw ValidationError("\(script) failed: \(r.output)") }
    }

    static func json(_ s: String) -> String { CanonicalWriter.write(.string(s)) }

    static func gitlabPush(repo: String, commit: String) -> String {
        """
        {"object_kind": "push", "event_name": "push", "before": "\(String(repeating: "0", count: 40))", "after": "\(commit)",
         "ref": "refs/heads/main", "checkout_sha": "\(commit)", "user_username": "bench", "user_name": "Bench",
         "project": {"id": 1, "path_with_namespace": "bench/app", "git_http_url": "file://\(repo)"},
         "repository": {"name": "app", "url": "file://\(repo)"},
         "commits": [{"id": "\(commit)", "message": "bench change"}], "total_commits_count": 1}
        """
    }
}
