import AsyncHTTPClient
import Crypto
import EventLog
import Events
import Foundation
import HummingbirdTesting
import Testing
import TestSupport
import Workers

/// A git push becomes a tested image in the registry and a rolling upgrade, with every real part: a repository
/// served by `git http-backend`, the build worker (mirror, sandboxed script, buildah, push) and the registry ops/test
/// started. GitLab and GitHub deliveries of the documented shapes; the preprocess layer is reused on the next push.
@Suite(.serialized) struct CodeflowBuildTests {
    /// A bare repository served over smart HTTP, and a working copy that commits and pushes to it.
    final class GitServer {
        let root: URL
        let port: Int
        let process: Process
        var work: URL { root.appendingPathComponent("work") }
        var url: String { "http://127.0.0.1:\(port)/app.git" }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-git-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root.appendingPathComponent("repos"), withIntermediateDirectories: true)
            port = try TestEnvironment.freePort()
            try Self.git(["init", "-q", "--bare", "-b", "main", root.appendingPathComponent("repos/app.git").path])
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", TestEnvironment.repositoryRoot.appendingPathComponent("ops/git-http-server.py").path,
                                 root.appendingPathComponent("repos").path, String(port)]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            try Self.git(["init", "-q", "-b", "main", work.path])
            for _ in 0..<50 {
                if (try? ExternalTool.run(["git", "ls-remote", url])).map({ $0.status == 0 }) == true { return }
                Thread.sleep(forTimeInterval: 0.1)
            }
            throw Failure(description: "the git HTTP server did not start")
        }

        /// Stops the server (it holds the test runner's pipes: a leftover would keep `swift test` waiting).
        func stop() {
            process.end()
            try? FileManager.default.removeItem(at: root)
        }

        deinit { stop() }

        @discardableResult
        static func git(_ args: [String], cwd: URL? = nil) throws -> String {
            let r = try ExternalTool.run(["git", "-c", "user.email=dev@example.com", "-c", "user.name=Dev"] + args, cwd: cwd, stdoutOnly: true)
            guard r.status == 0 else { throw Failure(description: "git \(args.joined(separator: " ")) failed: \(r.output)") }
            return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Writes the files, commits and pushes main; returns the commit id.
        func push(_ files: [String: String], message: String, branch: String = "main") throws -> String {
            for (name, text) in files { try text.write(to: work.appendingPathComponent(name), atomically: true, encoding: .utf8) }
            try Self.git(["add", "-A"], cwd: work)
            try Self.git(["commit", "-q", "-m", message], cwd: work)
            try Self.git(["push", "-q", url, "HEAD:refs/heads/\(branch)"], cwd: work)
            return try Self.git(["rev-parse", "HEAD"], cwd: work)
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static let secret = "push-hook-secret-0123456789"
    /// The build proves who ran it; the preprocess step takes a while, so a cache hit shows in its phase time.
    static let buildScript = "echo \"build uid: $(id -u)\"; mkdir -p out; cp app.sh out/app.sh; echo built > out/BUILT"
    static let preprocess = "cp requirements.txt deps.lock; sleep 2; echo deps installed"

    static func gitlabPush(repository: String, commit: String, user: String) -> String {
        """
        {"object_kind": "push", "event_name": "push", "before": "\(String(repeating: "0", count: 40))", "after": "\(commit)",
         "ref": "refs/heads/main", "checkout_sha": "\(commit)", "user_id": 7, "user_name": "Jane Dev", "user_username": "\(user)",
         "user_email": "jane@example.com", "project_id": 3,
         "project": {"id": 3, "name": "app", "web_url": "http://git.local/pay/app", "git_http_url": "\(repository)",
                     "git_ssh_url": "git@git.local:pay/app.git", "path_with_namespace": "pay/app", "default_branch": "main"},
         "repository": {"name": "app", "url": "\(repository)", "homepage": "http://git.local/pay/app", "git_http_url": "\(repository)"},
         "commits": [{"id": "\(commit)", "message": "change", "author": {"name": "Jane Dev", "email": "jane@example.com"}}],
         "total_commits_count": 1}
        """
    }

    /// Waits for the build to end; on anything but success the test fails with its log.
    static func finished(_ client: some TestClientProtocol, _ id: String, expecting state: String = "succeeded") async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(240)
        while ContinuousClock.now < deadline {
            let r = try await client.call(.get, "/v1/builds/\(id)")
            if let s = r.json["state"] as? String, s != "queued" && s != "running" {
                if s != state {
                    let log = try await client.call(.get, "/v1/builds/\(id)/log")
                    throw Failure(description: "build \(id) is \(s), not \(state): \(r.text)\n--- log ---\n\(log.text.suffix(4000))")
                }
                return r.json
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw Failure(description: "build \(id) did not finish within 240 s")
    }

    @Test func pushesBuildPushAndUpgradeWithTheAuditChain() async throws {
        let (registry, baseImage) = try TestEnvironment.registry()
        let git = try GitServer()
        defer { git.stop() }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-builds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let settings = BuildSettings(root: root.path, registry: registry, parallelism: 2)
        let first = try git.push(["app.sh": "echo v1\n", "requirements.txt": "flask==3.0\n"], message: "v1")
        let http = HTTPClient.shared

        try await ServerHarness.with(builds: settings) { harness, client in
            let line = try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "Payments"}"#)
            let service = try await client.call(.post, "/v1/services?after=\(line.json["position"] as? String ?? "")",
                                                json: #"{"name": "pay-app", "businessLine": "pay", "image": "registry.example.com/pay/app:0", "replicas": 2}"#)
            #expect(service.status == 201, "\(service.text)")
            let flow = try await client.call(.put, "/v1/codeflows/pay-app?after=\(service.json["position"] as? String ?? "")", json: """
                {"service": "pay-app", "repository": "\(git.url)", "branches": ["main"], "buildScript": \(Self.json(Self.buildScript)),
                 "artifactPath": "out", "startCommand": "sh app.sh", "baseImage": "\(baseImage)",
                 "preprocessScript": \(Self.json(Self.preprocess)), "dependencyFiles": ["requirements.txt"], "webhookSecret": "\(Self.secret)"}
                """)
            #expect(flow.status == 201, "\(flow.text)")

            // 1. A GitLab push.
            let hook = try await client.call(.post, "/v1/webhooks/gitlab?after=\(flow.json["position"] as? String ?? "")",
                                             json: Self.gitlabPush(repository: git.url, commit: first, user: "jane"), token: nil,
                                             headers: ["X-Gitlab-Token": Self.secret, "X-Gitlab-Event": "Push Hook",
                                                       "X-Gitlab-Event-UUID": UUID().uuidString.lowercased()])
            #expect(hook.status == 202, "\(hook.text)")
            let id = try #require((hook.json["builds"] as? [[String: Any]])?.first?["id"] as? String, "\(hook.text)")
            let built = try await Self.finished(client, id)
            #expect(built["commit"] as? String == first && built["cacheHit"] as? Bool == false, "\(built)")
            let digest = try #require(built["digest"] as? String)
            let image = try #require(built["image"] as? String)
            let phases = try #require(built["phases"] as? [String: Int])
            #expect(Set(phases.keys) == ["fetch", "script", "preprocess", "image", "push"], "\(phases)")

            // The script ran sandboxed as an unprivileged user.
            let log = try await client.call(.get, "/v1/builds/\(id)/log")
            #expect(log.text.contains("build uid: 65534") && !log.text.contains("build uid: 0\n"), "\(log.text.prefix(3000))")
            #expect(log.text.contains("deps installed") && log.text.contains("preprocess cache miss"), "\(log.text.prefix(3000))")

            // The registry holds the image under the recorded digest (its API v2, not our word).
            let (repository, tag) = Self.split(image, registry: registry)
            var request = HTTPClientRequest(url: "http://\(registry)/v2/\(repository)/manifests/\(tag)")
            request.method = .HEAD
            request.headers.add(name: "Accept", value: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
            let manifest = try await http.execute(request, timeout: .seconds(10))
            #expect(manifest.status == .ok && manifest.headers.first(name: "Docker-Content-Digest") == digest, "\(manifest.status) \(manifest.headers)")

            // The service was upgraded to exactly that digest.
            let pinned = "\(registry)/\(repository)@\(digest)"
            try await Self.waitForImage(client, pinned)

            // The audit chain: webhook (RequestBuild by webhook:gitlab:jane) -> BuildQueued -> StartBuild/FinishBuild -> BuildSucceeded
            // -> UpgradeServiceImage (caused by BuildSucceeded) -> ServiceImageUpgraded.
            var commands: [CommandEnvelope] = [], events: [EventEnvelope] = []
            for p in 0..<harness.partitions {
                commands += try await readAll(harness.store.log, Topics.commands, p).map { try CanonicalJSON.decode(CommandEnvelope.self, from: $0.value) }
                events += try await readAll(harness.store.log, Topics.events, p).map { try CanonicalJSON.decode(EventEnvelope.self, from: $0.value) }
            }
            let request_ = try #require(commands.first { $0.command.as(RequestBuild.self)?.id == id })
            #expect(request_.actor == "webhook:gitlab:jane")
            let queued = try #require(events.first { $0.event.as(BuildQueued.self)?.id == id })
            #expect(queued.causationId == request_.id)
            let succeeded = try #require(events.first { $0.event.as(BuildSucceeded.self)?.id == id })
            let finish = try #require(commands.first { $0.id == succeeded.causationId })
            #expect(finish.command.as(FinishBuild.self)?.outcome == .succeeded && finish.actor == "system:build" && finish.causationId == queued.id)
            let upgrade = try #require(commands.first { $0.command.as(UpgradeServiceImage.self)?.image == pinned })
            #expect(upgrade.causationId == succeeded.id && upgrade.actor == "system:build")
            let upgraded = try #require(events.first { $0.causationId == upgrade.id })
            #expect(upgraded.event.as(ServiceImageUpgraded.self) != nil)
            #expect(Set([request_.correlationId, queued.correlationId, finish.correlationId, upgrade.correlationId, upgraded.correlationId]).count == 1,
                    "one correlation id from the webhook to the upgrade")

            // 2. A second push that leaves the dependencies alone: the preprocess layer is reused, and that is faster.
            let second = try git.push(["app.sh": "echo v2\n"], message: "v2")
            let hook2 = try await client.call(.post, "/v1/webhooks/gitlab", json: Self.gitlabPush(repository: git.url, commit: second, user: "jane"),
                                              token: nil, headers: ["X-Gitlab-Token": Self.secret, "X-Gitlab-Event-UUID": UUID().uuidString.lowercased()])
            let id2 = try #require((hook2.json["builds"] as? [[String: Any]])?.first?["id"] as? String, "\(hook2.text)")
            let built2 = try await Self.finished(client, id2)
            let phases2 = try #require(built2["phases"] as? [String: Int])
            #expect(built2["cacheHit"] as? Bool == true && built2["commit"] as? String == second, "\(built2)")
            #expect(phases2["preprocess"]! < phases["preprocess"]!, "cache hit \(phases2) vs miss \(phases)")
            // The whole build, not only its preprocess phase (the miss sleeps 2 s in its dependency step).
            #expect(phases2.values.reduce(0, +) < phases.values.reduce(0, +), "warm build \(phases2) vs cold \(phases)")
            let log2 = try await client.call(.get, "/v1/builds/\(id2)/log")
            #expect(log2.text.contains("mirror") && log2.text.contains("is kept: fetching") && log2.text.contains("preprocess cache hit"),
                    "\(log2.text.prefix(2000))")
            try await Self.waitForImage(client, "\(registry)/\(Self.split(try #require(built2["image"] as? String), registry: registry).0)@\(try #require(built2["digest"] as? String))")

            // 3. The same through GitHub, signed.
            let third = try git.push(["app.sh": "echo v3\n"], message: "v3")
            let body = """
                {"ref": "refs/heads/main", "before": "\(second)", "after": "\(third)", "created": false, "deleted": false, "forced": false,
                 "repository": {"full_name": "pay/app", "clone_url": "\(git.url)", "html_url": "http://git.local/pay/app"},
                 "pusher": {"name": "octo", "email": "octo@example.com"}, "sender": {"login": "octocat"},
                 "head_commit": {"id": "\(third)", "message": "v3"}}
                """
            let signature = "sha256=" + HashChain.hex(HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(Self.secret.utf8))))
            let hook3 = try await client.call(.post, "/v1/webhooks/github", json: body, token: nil,
                                              headers: ["X-GitHub-Event": "push", "X-GitHub-Delivery": UUID().uuidString.lowercased(),
                                                        "X-Hub-Signature-256": signature])
            let id3 = try #require((hook3.json["builds"] as? [[String: Any]])?.first?["id"] as? String, "\(hook3.text)")
            let built3 = try await Self.finished(client, id3)
            #expect(built3["requestedBy"] as? String == "webhook:github:octocat" && built3["commit"] as? String == third, "\(built3)")
            let (repository3, tag3) = Self.split(try #require(built3["image"] as? String), registry: registry)
            var request3 = HTTPClientRequest(url: "http://\(registry)/v2/\(repository3)/manifests/\(tag3)")
            request3.method = .HEAD
            request3.headers.add(name: "Accept", value: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
            let manifest3 = try await http.execute(request3, timeout: .seconds(10))
            #expect(manifest3.status == .ok && manifest3.headers.first(name: "Docker-Content-Digest") == built3["digest"] as? String,
                    "\(manifest3.status) \(manifest3.headers)")
            try await Self.waitForImage(client, "\(registry)/\(repository3)@\(try #require(built3["digest"] as? String))")

            // 4. A push that changes a dependency file the preprocess step names: its layer is made again.
            let fourth = try git.push(["requirements.txt": "flask==3.1\n"], message: "deps")
            let hook4 = try await client.call(.post, "/v1/webhooks/gitlab", json: Self.gitlabPush(repository: git.url, commit: fourth, user: "jane"),
                                              token: nil, headers: ["X-Gitlab-Token": Self.secret, "X-Gitlab-Event-UUID": UUID().uuidString.lowercased()])
            let id4 = try #require((hook4.json["builds"] as? [[String: Any]])?.first?["id"] as? String, "\(hook4.text)")
            let built4 = try await Self.finished(client, id4)
            #expect(built4["cacheHit"] as? Bool == false, "a changed requirements.txt must miss the preprocess cache: \(built4)")
            let log4 = try await client.call(.get, "/v1/builds/\(id4)/log")
            #expect(log4.text.contains("preprocess cache miss") && log4.text.contains("deps installed"), "\(log4.text.prefix(2000))")
        }
    }

    @Test func failingScriptsFailAndCancelKillsARunningBuild() async throws {
        let (registry, baseImage) = try TestEnvironment.registry()
        let git = try GitServer()
        defer { git.stop() }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-builds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        _ = try git.push(["app.sh": "echo v1\n"], message: "v1")
        try await ServerHarness.with(builds: BuildSettings(root: root.path, registry: registry, parallelism: 1)) { harness, client in
            let line = try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "Payments"}"#)
            let service = try await client.call(.post, "/v1/services?after=\(line.json["position"] as? String ?? "")",
                                                json: #"{"name": "pay-app", "businessLine": "pay", "image": "registry.example.com/pay/app:0", "replicas": 1}"#)
            func define(_ script: String, after: String, timeoutSeconds: Int = 1800) async throws -> String {
                let r = try await client.call(.put, "/v1/codeflows/pay-app?after=\(after)", json: """
                    {"service": "pay-app", "repository": "\(git.url)", "branches": ["main"], "buildScript": \(Self.json(script)),
                     "artifactPath": "app.sh", "startCommand": "sh app.sh", "baseImage": "\(baseImage)", "webhookSecret": "\(Self.secret)",
                     "timeoutSeconds": \(timeoutSeconds)}
                    """)
                #expect(r.status == 201 || r.status == 200, "\(r.text)")
                return r.json["position"] as? String ?? ""
            }
            // A script that fails: the build fails with the script's status and the image is never made.
            var position = try await define("echo about to fail; touch /etc/wharf-was-here || true; exit 3", after: service.json["position"] as? String ?? "")
            let failing = try await client.call(.post, "/v1/codeflows/pay-app/builds?after=\(position)", json: #"{"ref": "main"}"#)
            let failedId = try #require(((failing.json["events"] as? [[String: Any]])?.first?["payload"] as? [String: Any])?["id"] as? String, "\(failing.text)")
            let failed = try await Self.finished(client, failedId, expecting: "failed")
            #expect((failed["reason"] as? String ?? "").contains("status 3"), "\(failed)")
            #expect(!FileManager.default.fileExists(atPath: "/etc/wharf-was-here"), "the script could not write outside its workspace")

            // A script that writes outside its workspace fails on that write (sh -e) and changes nothing there.
            let outside = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-outside-\(UUID().uuidString)").path
            position = try await define("echo writing outside; echo x > /etc/wharf-was-here; echo x > \(outside); echo not reached",
                                        after: failed["position"] as? String ?? "")
            let writing = try await client.call(.post, "/v1/codeflows/pay-app/builds?after=\(position)", json: #"{"ref": "main"}"#)
            let writingId = try #require(((writing.json["events"] as? [[String: Any]])?.first?["payload"] as? [String: Any])?["id"] as? String, "\(writing.text)")
            let wrote = try await Self.finished(client, writingId, expecting: "failed")
            let wroteLog = try await client.call(.get, "/v1/builds/\(writingId)/log").text
            #expect((wrote["reason"] as? String ?? "").contains("status"), "\(wrote)")
            #expect((wroteLog.contains("Permission denied") || wroteLog.contains("Read-only file system")) && !wroteLog.contains("not reached"),
                    "\(wroteLog.suffix(1500))")
            #expect(!FileManager.default.fileExists(atPath: "/etc/wharf-was-here") && !FileManager.default.fileExists(atPath: outside))

            // A script past its time limit is killed, and the build says why.
            position = try await define("echo sleeping; sleep 120; echo not reached", after: wrote["position"] as? String ?? "", timeoutSeconds: 10)
            let slow = try await client.call(.post, "/v1/codeflows/pay-app/builds?after=\(position)", json: #"{"ref": "main"}"#)
            let slowId = try #require(((slow.json["events"] as? [[String: Any]])?.first?["payload"] as? [String: Any])?["id"] as? String, "\(slow.text)")
            let timedOut = try await Self.finished(client, slowId, expecting: "failed")
            #expect((timedOut["reason"] as? String ?? "").contains("time limit of 10 s"), "\(timedOut)")
            #expect(!(try await client.call(.get, "/v1/builds/\(slowId)/log").text.contains("not reached")))

            // A script that hangs (with a child that tries to outlive it) is killed by cancel.
            position = try await define("echo started; (sleep 300 &) ; sleep 300", after: timedOut["position"] as? String ?? "")
            let hanging = try await client.call(.post, "/v1/codeflows/pay-app/builds?after=\(position)", json: #"{"ref": "main"}"#)
            let hangingId = try #require(((hanging.json["events"] as? [[String: Any]])?.first?["payload"] as? [String: Any])?["id"] as? String)
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                if try await client.call(.get, "/v1/builds/\(hangingId)/log").text.contains("started") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let cancel = try await client.call(.post, "/v1/builds/\(hangingId)/cancel")
            #expect(cancel.status == 200 && (cancel.text.contains("\"wasRunning\":true")), "\(cancel.text)")
            let log = try await client.call(.get, "/v1/builds/\(hangingId)/log?follow=true")
            #expect(log.text.contains("== cancelled"), "\(log.text.suffix(1000))")
            // The namespace's processes are killed when its first process dies, which the kernel finishes just after
            // the log's last line: a moment, not a timeout.
            var sleepers = try ExternalTool.run(["pgrep", "-a", "-f", "sleep 300"])
            for _ in 0..<50 where sleepers.status == 0 {
                try await Task.sleep(for: .milliseconds(100))
                sleepers = try ExternalTool.run(["pgrep", "-a", "-f", "sleep 300"])
            }
            #expect(sleepers.status != 0, "no process of the build is left within 5 s: \(sleepers.output)")
            let got = try await client.call(.get, "/v1/builds/\(hangingId)")
            #expect(got.json["state"] as? String == "cancelled", "\(got.text)")
            // None of these builds upgraded the service.
            let unchanged = try await client.call(.get, "/v1/services/pay-app")
            #expect(unchanged.json["image"] as? String == "registry.example.com/pay/app:0", "\(unchanged.text)")
            _ = harness
        }
    }

    static func json(_ s: String) -> String { CanonicalWriter.write(.string(s)) }

    /// "host/path:tag" as (path, tag).
    static func split(_ image: String, registry: String) -> (String, String) {
        let rest = image.dropFirst(registry.count + 1)
        let colon = rest.lastIndex(of: ":")!
        return (String(rest[..<colon]), String(rest[rest.index(after: colon)...]))
    }

    static func waitForImage(_ client: some TestClientProtocol, _ image: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        var last = ""
        while ContinuousClock.now < deadline {
            let r = try await client.call(.get, "/v1/services/pay-app")
            last = r.json["image"] as? String ?? r.text
            if last == image { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "service pay-app runs \(last), not \(image)")
    }
}
