import Crypto
import EventLog
import Events
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Codeflows, builds and the GitLab/GitHub webhooks through the real API on the real test Postgres (no build
/// worker runs here: builds stay queued; `CodeflowBuildTests` builds for real).
@Suite struct CodeflowAPITests {
    static let secret = "s3cret-webhook-token-42"
    static let repository = "http://git.example.com/pay/api.git"
    static let commit = String(repeating: "ab", count: 20)

    static func codeflow(service: String, repository: String = repository, branches: [String] = ["main", "release/*"],
                         secret: String? = secret, extra: String = "") -> String {
        #"{"service": "\#(service)", "repository": "\#(repository)", "branches": [\#(branches.map { "\"\($0)\"" }.joined(separator: ", "))], "#
            + #""buildScript": "mkdir -p out && echo hi > out/app.txt", "artifactPath": "out", "startCommand": "cat app.txt", "#
            + #""baseImage": "127.0.0.1:5000/wharf/base:1""# + (secret.map { #", "webhookSecret": "\#($0)""# } ?? "") + extra + "}"
    }

    static func gitlabPush(ref: String = "refs/heads/main", after: String = commit, user: String = "jsmith", repository: String = repository) -> String {
        """
        {"object_kind": "push", "event_name": "push", "before": "\(String(repeating: "0", count: 40))", "after": "\(after)", "ref": "\(ref)",
         "checkout_sha": \(after == String(repeating: "0", count: 40) ? "null" : "\"\(after)\""), "user_id": 4, "user_name": "John Smith",
         "user_username": "\(user)", "user_email": "john@example.com", "project_id": 15,
         "project": {"id": 15, "name": "api", "web_url": "http://git.example.com/pay/api", "git_ssh_url": "git@git.example.com:pay/api.git",
                     "git_http_url": "\(repository)", "path_with_namespace": "pay/api", "default_branch": "main"},
         "repository": {"name": "api", "url": "git@git.example.com:pay/api.git", "homepage": "http://git.example.com/pay/api",
                        "git_http_url": "\(repository)", "git_ssh_url": "git@git.example.com:pay/api.git"},
         "commits": [], "total_commits_count": 0}
        """
    }

    static func gitlabHeaders(token: String = secret, uuid: String = UUID().uuidString.lowercased(), event: String = "Push Hook") -> [String: String] {
        ["X-Gitlab-Token": token, "X-Gitlab-Event": event, "X-Gitlab-Event-UUID": uuid]
    }

    /// Creates line "pay", service "pay-api" and codeflow "pay-api"; returns the codeflow write's position.
    static func setUp(_ client: some TestClientProtocol) async throws -> String {
        let line = try await client.call(.post, "/v1/business-lines", json: #"{"name": "pay", "displayName": "Payments"}"#)
        #expect(line.status == 201, "\(line.text)")
        let service = try await client.call(.post, "/v1/services?after=\(line.json["position"] as? String ?? "")",
                                            json: #"{"name": "pay-api", "businessLine": "pay", "image": "registry.example.com/pay:1", "replicas": 1}"#)
        #expect(service.status == 201, "\(service.text)")
        let flow = try await client.call(.put, "/v1/codeflows/pay-api?after=\(service.json["position"] as? String ?? "")", json: codeflow(service: "pay-api"))
        #expect(flow.status == 201, "\(flow.text)")
        return flow.json["position"] as? String ?? ""
    }

    @Test func codeflowsAreDefinedStrictlyAndTheSecretIsNeverShown() async throws {
        try await ServerHarness.with { harness, client in
            let position = try await Self.setUp(client)
            let got = try await client.call(.get, "/v1/codeflows/pay-api?after=\(position)")
            #expect(got.status == 200 && got.json["hasWebhookSecret"] as? Bool == true && got.json["repository"] as? String == Self.repository, "\(got.text)")
            #expect(!got.text.contains(Self.secret) && got.json["webhookSecret"] == nil)
            // Stored sealed only: the plain secret is in no table (log included).
            #expect(try await SecretEnvAPITests.occurrences(of: [Self.secret], in: harness.store.database).isEmpty)
            let before = try await harness.commandCount()
            for (body, field) in [
                (Self.codeflow(service: "pay-api", repository: "-oProxyCommand=touch /tmp/pwned"), "repository"),
                (Self.codeflow(service: "pay-api", repository: "http://git.example.com/a b"), "repository"),
                (Self.codeflow(service: "pay-api", extra: #", "timeoutSeconds": 5"#), "timeoutSeconds"),
                (Self.codeflow(service: "pay-api", extra: #", "parallelism": 0"#), "parallelism"),
                (Self.codeflow(service: "pay-api", extra: #", "parallelism": 65"#), "parallelism"),
                (Self.codeflow(service: "pay-api", branches: ["--upload-pack=x"]), "branches"),
                (Self.codeflow(service: "pay-api").replacingOccurrences(of: #""artifactPath": "out""#, with: #""artifactPath": "../../etc""#), "artifactPath"),
                (Self.codeflow(service: "pay-api").replacingOccurrences(of: #""startCommand": "cat app.txt""#, with: #""startCommand": "a\nRUN rm -rf /""#), "startCommand"),
                (Self.codeflow(service: "pay-api").replacingOccurrences(of: #""baseImage": "127.0.0.1:5000/wharf/base:1""#, with: #""baseImage": "bad image""#), "baseImage"),
                (Self.codeflow(service: "pay-api", secret: "short"), "webhookSecret"),
                (Self.codeflow(service: "no-such-service"), "service"),
                (Self.codeflow(service: "pay-api", extra: #", "extra": 1"#), "extra"),
            ] {
                let r = try await client.call(.put, "/v1/codeflows/pay-api", json: body)
                #expect(r.status == 422 && r.json["field"] as? String == field, "\(field): \(r.status) \(r.text.prefix(300))")
            }
            // A new codeflow needs a secret; an existing one keeps it when the field is absent.
            let noSecret = try await client.call(.put, "/v1/codeflows/other", json: Self.codeflow(service: "pay-api", secret: nil))
            #expect(noSecret.status == 422 && noSecret.json["field"] as? String == "webhookSecret", "\(noSecret.text)")
            #expect(try await harness.commandCount() == before, "bad input appended nothing")
            let update = try await client.call(.put, "/v1/codeflows/pay-api", json: Self.codeflow(service: "pay-api", branches: ["main"], secret: nil))
            #expect(update.status == 200, "\(update.text)")
            let list = try await client.call(.get, "/v1/codeflows?after=\(update.json["position"] as? String ?? "")")
            let item = (list.json["items"] as? [[String: Any]])?.first
            #expect(item?["revision"] as? Int == 2 && item?["branches"] as? [String] == ["main"] && item?["hasWebhookSecret"] as? Bool == true, "\(list.text)")
        }
    }

    @Test func gitlabPushesBuildAndEverythingElseIsRecordedOrRefused() async throws {
        try await ServerHarness.with { harness, client in
            let position = try await Self.setUp(client)
            // Forged, missing or unsigned: 401 and nothing appended.
            let before = try await harness.commandCount()
            let forged = try await client.call(.post, "/v1/webhooks/gitlab?after=\(position)", json: Self.gitlabPush(), token: nil,
                                               headers: Self.gitlabHeaders(token: "not-the-secret-at-all"))
            #expect(forged.status == 401, "\(forged.text)")
            var missing = Self.gitlabHeaders()
            missing["X-Gitlab-Token"] = nil
            #expect(try await client.call(.post, "/v1/webhooks/gitlab", json: Self.gitlabPush(), token: nil, headers: missing).status == 401)
            let noDelivery = try await client.call(.post, "/v1/webhooks/gitlab", json: Self.gitlabPush(), token: nil,
                                                   headers: ["X-Gitlab-Token": Self.secret])
            #expect(noDelivery.status == 400, "\(noDelivery.text)")
            #expect(try await client.call(.post, "/v1/webhooks/gitlab", json: "not json", token: nil, headers: Self.gitlabHeaders()).status == 400)
            let oversized = try await client.call(.post, "/v1/webhooks/gitlab", json: Self.gitlabPush() + String(repeating: " ", count: 5 * 1024 * 1024),
                                                  token: nil, headers: Self.gitlabHeaders())
            #expect(oversized.status == 413, "\(oversized.status) \(oversized.text.prefix(300))")
            #expect(try await harness.commandCount() == before, "refused deliveries appended nothing")

            // A valid push of main: one build, by the pusher as the payload names them.
            let uuid = UUID().uuidString.lowercased()
            let push = try await client.call(.post, "/v1/webhooks/gitlab", json: Self.gitlabPush(), token: nil, headers: Self.gitlabHeaders(uuid: uuid))
            #expect(push.status == 202, "\(push.text)")
            let builds = push.json["builds"] as? [[String: Any]] ?? []
            #expect(builds.count == 1 && builds.first?["outcome"] as? String == "queued", "\(push.text)")
            let id = try #require(builds.first?["id"] as? String)
            let got = try await client.call(.get, "/v1/builds/\(id)?after=\(builds.first?["position"] as? String ?? "")")
            let trigger = got.json["trigger"] as? [String: Any]
            #expect(got.json["state"] as? String == "queued" && got.json["commit"] as? String == Self.commit && got.json["ref"] as? String == "refs/heads/main",
                    "\(got.text)")
            #expect(trigger?["source"] as? String == "gitlab" && trigger?["user"] as? String == "jsmith" && trigger?["delivery"] as? String == uuid
                    && trigger?["event"] as? String == "push", "\(got.text)")
            #expect(got.json["requestedBy"] as? String == "webhook:gitlab:jsmith", "\(got.text)")
            // The same delivery again: the same build, nothing appended.
            let count = try await harness.commandCount()
            let again = try await client.call(.post, "/v1/webhooks/gitlab", json: Self.gitlabPush(), token: nil, headers: Self.gitlabHeaders(uuid: uuid))
            #expect(again.status == 202 && (again.json["builds"] as? [[String: Any]])?.first?["id"] as? String == id, "\(again.text)")
            #expect(try await harness.commandCount() == count, "a redelivery appends nothing")
            // A redelivery with GitLab's Idempotency-Key (it takes precedence over the event UUID, which GitLab renews
            // on a manual resend): the same build again, nothing appended.
            let key = UUID().uuidString.lowercased()
            let keyed = try await client.call(.post, "/v1/webhooks/gitlab", json: Self.gitlabPush(after: String(repeating: "ef", count: 20)), token: nil,
                                              headers: Self.gitlabHeaders().merging(["Idempotency-Key": key]) { $1 })
            let keyedId = try #require((keyed.json["builds"] as? [[String: Any]])?.first?["id"] as? String, "\(keyed.text)")
            let afterKeyed = try await harness.commandCount()
            let resent = try await client.call(.post, "/v1/webhooks/gitlab", json: Self.gitlabPush(after: String(repeating: "ef", count: 20)), token: nil,
                                               headers: Self.gitlabHeaders(uuid: UUID().uuidString.lowercased()).merging(["Idempotency-Key": key]) { $1 })
            #expect(resent.status == 202 && (resent.json["builds"] as? [[String: Any]])?.first?["id"] as? String == keyedId, "\(resent.text)")
            #expect(try await harness.commandCount() == afterKeyed, "a resend under the same Idempotency-Key appends nothing")

            // Recorded as ignored, 202: a filtered branch, a deleted branch, an unknown repository, an open merge request.
            for (body, event, reason) in [
                (Self.gitlabPush(ref: "refs/heads/feature/x"), "Push Hook", "matches the branches of no codeflow"),
                (Self.gitlabPush(after: String(repeating: "0", count: 40)), "Push Hook", "was deleted"),
                (Self.gitlabPush(repository: "http://git.example.com/other/repo.git").replacingOccurrences(of: "pay/api", with: "other/repo"),
                 "Push Hook", "no codeflow builds repository"),
                (#"{"object_kind": "merge_request", "user": {"username": "ann"}, "project": {"git_http_url": "\#(Self.repository)"}, "object_attributes": {"action": "open", "state": "opened", "target_branch": "main"}}"#,
                 "Merge Request Hook", "is not a merge"),
            ] {
                let before = try await harness.commandCount()
                let r = try await client.call(.post, "/v1/webhooks/gitlab", json: body, token: nil, headers: Self.gitlabHeaders(event: event))
                #expect(r.status == 202 && (r.json["ignored"] as? String ?? "").contains(reason), "\(reason): \(r.text)")
                #expect(try await harness.commandCount() == before + 1, "\(reason): recorded once")
            }
            // Tag pushes and merged merge requests build when their name matches.
            let tag = try await client.call(.post, "/v1/webhooks/gitlab",
                                            json: Self.gitlabPush(ref: "refs/tags/release/1.0").replacingOccurrences(of: #""object_kind": "push""#, with: #""object_kind": "tag_push""#),
                                            token: nil, headers: Self.gitlabHeaders(event: "Tag Push Hook"))
            #expect(tag.status == 202 && (tag.json["builds"] as? [[String: Any]])?.count == 1, "\(tag.text)")
            let merged = try await client.call(.post, "/v1/webhooks/gitlab", json: #"""
                {"object_kind": "merge_request", "user": {"username": "ann"}, "project": {"git_http_url": "\#(Self.repository)"},
                 "object_attributes": {"action": "merge", "state": "merged", "target_branch": "main", "source_branch": "feat",
                                       "merge_commit_sha": "\#(String(repeating: "cd", count: 20))"}}
                """#, token: nil, headers: Self.gitlabHeaders(event: "Merge Request Hook"))
            #expect(merged.status == 202 && (merged.json["builds"] as? [[String: Any]])?.count == 1, "\(merged.text)")
            // The audit names the webhook actors.
            let audit = try await client.call(.get, "/v1/audit?limit=1000&after=\(merged.json["builds"].flatMap { ($0 as? [[String: Any]])?.first?["position"] as? String } ?? "")")
            #expect(audit.text.contains("webhook:gitlab:jsmith") && audit.text.contains("webhook:gitlab:ann") && audit.text.contains("RecordWebhookIgnored"),
                    "\(audit.text.prefix(2000))")
        }
    }

    @Test func githubPushesAreCheckedByTheirSignature() async throws {
        try await ServerHarness.with { harness, client in
            let position = try await Self.setUp(client)
            let body = """
                {"ref": "refs/heads/main", "before": "\(String(repeating: "0", count: 40))", "after": "\(Self.commit)", "deleted": false,
                 "repository": {"full_name": "pay/api", "clone_url": "\(Self.repository)", "ssh_url": "git@git.example.com:pay/api.git", "html_url": "http://git.example.com/pay/api"},
                 "pusher": {"name": "octo", "email": "octo@example.com"}, "sender": {"login": "octocat"}}
                """
            func signature(_ text: String, key: String = Self.secret) -> String {
                "sha256=" + HashChain.hex(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: Array(key.utf8))))
            }
            let before = try await harness.commandCount()
            for headers in [["X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": signature(body, key: "another-secret-entirely")],
                            ["X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": signature(body + " ")],
                            ["X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"]] {
                let r = try await client.call(.post, "/v1/webhooks/github?after=\(position)", json: body, token: nil, headers: headers)
                #expect(r.status == 401, "\(r.text)")
            }
            #expect(try await harness.commandCount() == before, "forged deliveries appended nothing")
            let ping = #"{"zen": "Keep it simple.", "hook_id": 1, "repository": {"clone_url": "\#(Self.repository)"}}"#
            let pong = try await client.call(.post, "/v1/webhooks/github", json: ping, token: nil,
                                             headers: ["X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-0", "X-Hub-Signature-256": signature(ping)])
            #expect(pong.status == 200, "\(pong.text)")
            let r = try await client.call(.post, "/v1/webhooks/github", json: body, token: nil,
                                          headers: ["X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": signature(body)])
            #expect(r.status == 202 && (r.json["builds"] as? [[String: Any]])?.count == 1, "\(r.text)")
            let id = try #require((r.json["builds"] as? [[String: Any]])?.first?["id"] as? String)
            let got = try await client.call(.get, "/v1/builds/\(id)?after=\((r.json["builds"] as? [[String: Any]])?.first?["position"] as? String ?? "")")
            #expect(got.json["requestedBy"] as? String == "webhook:github:octocat" && (got.json["trigger"] as? [String: Any])?["source"] as? String == "github",
                    "\(got.text)")
            // A replay of the same X-GitHub-Delivery: the same build, nothing appended.
            let beforeReplay = try await harness.commandCount()
            let replay = try await client.call(.post, "/v1/webhooks/github", json: body, token: nil,
                                               headers: ["X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": signature(body)])
            #expect(replay.status == 202 && (replay.json["builds"] as? [[String: Any]])?.first?["id"] as? String == id, "\(replay.text)")
            #expect(try await harness.commandCount() == beforeReplay, "a replayed GitHub delivery appends nothing")
            // Signed but malformed, or past the size limit: refused before anything is recorded.
            let malformed = #"{"ref": "refs/heads/main", "after": "#
            let bad = try await client.call(.post, "/v1/webhooks/github", json: malformed, token: nil,
                                            headers: ["X-GitHub-Event": "push", "X-GitHub-Delivery": "d-3", "X-Hub-Signature-256": signature(malformed)])
            #expect(bad.status == 400, "\(bad.text)")
            let big = body + String(repeating: " ", count: 5 * 1024 * 1024)
            let huge = try await client.call(.post, "/v1/webhooks/github", json: big, token: nil,
                                             headers: ["X-GitHub-Event": "push", "X-GitHub-Delivery": "d-4", "X-Hub-Signature-256": signature(big)])
            #expect(huge.status == 413, "\(huge.status) \(huge.text.prefix(300))")
            #expect(try await harness.commandCount() == beforeReplay, "malformed and oversized deliveries appended nothing")
            let deleted = body.replacingOccurrences(of: #""deleted": false"#, with: #""deleted": true"#)
            let d = try await client.call(.post, "/v1/webhooks/github", json: deleted, token: nil,
                                          headers: ["X-GitHub-Event": "push", "X-GitHub-Delivery": "d-2", "X-Hub-Signature-256": signature(deleted)])
            #expect(d.status == 202 && (d.json["ignored"] as? String ?? "").contains("deleted"), "\(d.text)")
        }
    }

    @Test func buildsAreQueuedListedCancelledAndRetried() async throws {
        try await ServerHarness.with { harness, client in
            let position = try await Self.setUp(client)
            let badRef = try await client.call(.post, "/v1/codeflows/pay-api/builds?after=\(position)", json: #"{"ref": "--upload-pack=touch x"}"#)
            #expect(badRef.status == 422 && badRef.json["field"] as? String == "ref", "\(badRef.text)")
            let missing = try await client.call(.post, "/v1/codeflows/nope/builds", json: #"{"ref": "main"}"#)
            #expect(missing.status == 404, "\(missing.text)")
            let started = try await client.call(.post, "/v1/codeflows/pay-api/builds", json: #"{"ref": "main"}"#)
            #expect(started.status == 201, "\(started.text)")
            let id = try #require(((started.json["events"] as? [[String: Any]])?.first?["payload"] as? [String: Any])?["id"] as? String)
            let queued = try await client.call(.get, "/v1/builds?state=queued&codeflow=pay-api&after=\(started.json["position"] as? String ?? "")")
            #expect((queued.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [id], "\(queued.text)")
            #expect(try await client.call(.get, "/v1/builds?state=bogus").status == 400)
            let retryQueued = try await client.call(.post, "/v1/builds/\(id)/retry")
            #expect(retryQueued.status == 409, "\(retryQueued.text)")
            let cancel = try await client.call(.post, "/v1/builds/\(id)/cancel")
            #expect(cancel.status == 200, "\(cancel.text)")
            let twice = try await client.call(.post, "/v1/builds/\(id)/cancel")
            #expect(twice.status == 409, "\(twice.text)")
            let retry = try await client.call(.post, "/v1/builds/\(id)/retry?after=\(cancel.json["position"] as? String ?? "")")
            #expect(retry.status == 201, "\(retry.text)")
            let newId = try #require(((retry.json["events"] as? [[String: Any]])?.first?["payload"] as? [String: Any])?["id"] as? String)
            let got = try await client.call(.get, "/v1/builds/\(newId)?after=\(retry.json["position"] as? String ?? "")")
            #expect(got.json["retryOf"] as? String == id && got.json["state"] as? String == "queued"
                    && (got.json["trigger"] as? [String: Any])?["source"] as? String == "retry", "\(got.text)")
            let old = try await client.call(.get, "/v1/builds/\(id)")
            #expect(old.json["state"] as? String == "cancelled", "\(old.text)")
            _ = harness
        }
    }
}
