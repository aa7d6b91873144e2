@testable import Commands
import Events
import Foundation
import Testing
import TestSupport

/// Rendering, escaping, diffing and deciding for Nginx clusters (pure parts; the real nginx checks live in ServerTests).
@Suite struct NginxConfigTests {
    static let web = NginxUpstream(name: "web", servers: [NginxUpstreamServer(address: "10.0.0.1:8080", weight: 3),
                                                          NginxUpstreamServer(service: "cart", maxFails: 2, failTimeoutSeconds: 5)])
    static let site = NginxSite(name: "shop", serverNames: ["shop.example.com"], listen: 8080, locations: [NginxLocation(path: "/", upstream: "web")])

    func envelope(_ command: Command, _ n: Int = 0) -> CommandEnvelope {
        CommandEnvelope(id: "c\(n)", actor: "user:alice", time: "2026-11-27T10:00:00.000Z", correlationId: "c\(n)", command: command)
    }

    /// Decides a sequence of commands, folding the accepted events; returns every command's result.
    func run(_ commands: [Command]) -> (NginxClusterState?, [Result<[Event], Rejection>]) {
        var state: NginxClusterState?
        var results: [Result<[Event], Rejection>] = []
        for (i, command) in commands.enumerated() {
            let result = NginxDecider.decide(command, state: state)
            results.append(result)
            if case .success(let events) = result {
                for (j, event) in events.enumerated() {
                    let e = EventEnvelope(id: "c\(i)/\(j)", aggregate: command.aggregate, actor: "user:alice", time: "2026-11-27T10:00:00.000Z",
                                          correlationId: "c\(i)", causationId: "c\(i)", commandType: command.type,
                                          commandPosition: LogPosition(partition: 0, offset: Int64(i)), event: event)
                    state = NginxClusterState.evolve(state, e)
                }
            }
        }
        return (state, results)
    }

    @Test func rendersUpstreamsWithServiceMembersAndParameters() {
        let text = NginxRenderer.render(NginxRenderInput(cluster: "edge", environment: .prod, upstreams: [Self.web], sites: [Self.site],
                                                         members: ["cart": NginxServiceMembers(service: "cart", revision: 4, image: "r/cart:4", addresses: ["10.1.0.1:80", "10.1.0.2:80"])],
                                                         testDomain: nil))
        #expect(text.contains("    upstream up.web {\n        # service cart: revision 4, r/cart:4, 2 live members\n        server 10.0.0.1:8080 weight=3;\n        server 10.1.0.1:80 max_fails=2 fail_timeout=5s;\n        server 10.1.0.2:80 max_fails=2 fail_timeout=5s;\n    }"), "\(text)")
        #expect(text.contains("        location / {\n            proxy_pass http://up.web;\n        }"))
        #expect(text.contains("proxy_set_header Host $host;"))
    }

    @Test func anUpstreamWithoutLiveServersRendersADownPlaceholder() {
        let u = NginxUpstream(name: "web", servers: [NginxUpstreamServer(service: "cart")])
        let text = NginxRenderer.render(NginxRenderInput(cluster: "edge", environment: .prod, upstreams: [u], sites: [], members: [:], testDomain: nil))
        #expect(text.contains("        # service cart: no live members\n        server 127.0.0.1:9 down;"))
    }

    @Test func canaryRoutesChainHeaderCookieAndWeight() {
        let canary = NginxCanary(upstream: "beta", weightPercent: 20, header: NginxMatch(name: "X-Canary", value: "yes please"),
                                 cookie: NginxMatch(name: "beta_user", value: "1"))
        let site = NginxSite(name: "my-shop", serverNames: ["shop.example.com"], listen: 80, locations: [NginxLocation(path: "/", upstream: "web", canary: canary)])
        let text = NginxRenderer.render(NginxRenderInput(cluster: "edge", environment: .prod,
                                                         upstreams: [Self.web, NginxUpstream(name: "beta", servers: [NginxUpstreamServer(address: "10.0.0.9:80")])],
                                                         sites: [site], members: [:], testDomain: nil))
        #expect(text.contains("split_clients \"${request_id}\" $wharf_split_my_shop_0 {\n        20% up.beta;\n        * up.web;\n    }"), "\(text)")
        #expect(text.contains("map $cookie_beta_user $wharf_cookie_my_shop_0 {\n        \"1\" up.beta;\n        default $wharf_split_my_shop_0;\n    }"))
        #expect(text.contains("map $http_x_canary $wharf_header_my_shop_0 {\n        \"yes please\" up.beta;\n        default $wharf_cookie_my_shop_0;\n    }"))
        #expect(text.contains("proxy_pass http://$wharf_header_my_shop_0;"))
    }

    /// Blocks come from the renderer's cache when their inputs are unchanged: a render from the cache equals a
    /// render from nothing, and whatever an upstream block depends on (its servers, the members of the services
    /// it names) and a site block depends on (the site) changes its text.
    @Test func cachedBlocksEqualFreshRendersAndFollowTheirInputs() {
        let members = ["cart": NginxServiceMembers(service: "cart", revision: 4, image: "r/cart:4", addresses: ["10.1.0.1:80"])]
        let input = NginxRenderInput(cluster: "cache", environment: .prod, upstreams: [Self.web], sites: [Self.site], members: members, testDomain: nil)
        let warm = NginxRenderer.render(input)
        #expect(NginxRenderer.render(input) == warm)
        NginxRenderer.clearBlockCache()
        #expect(NginxRenderer.render(input) == warm)

        var moved = input
        moved.members["cart"]?.addresses = ["10.1.0.9:80"]
        let afterMove = NginxRenderer.render(moved)
        #expect(afterMove.contains("server 10.1.0.9:80 max_fails=2") && !afterMove.contains("10.1.0.1:80"))

        var reweighted = input
        reweighted.upstreams[0].servers[0].weight = 7
        #expect(NginxRenderer.render(reweighted).contains("server 10.0.0.1:8080 weight=7;"))

        var renamed = input
        renamed.sites[0].serverNames = ["other.example.com"]
        let afterRename = NginxRenderer.render(renamed)
        #expect(afterRename.contains("server_name other.example.com;") && !afterRename.contains("shop.example.com"))
        // And back: the first text again, byte for byte.
        #expect(NginxRenderer.render(input) == warm)
    }

    /// The second wall: even a value that slipped past validation cannot break out of its directive.
    @Test func escapingNeutralisesDirectiveBreakers() {
        let escaped = NginxContentType().escapeText("a;b{c}d\"e'f$g#h\\i\nj")
        #expect(escaped == "a_b_c_d_e_f_g_h_i_j")
    }

    @Test func nodeTextBindsListenLinesOnly() {
        let text = NginxRenderer.render(NginxRenderInput(cluster: "edge", environment: .prod, upstreams: [Self.web], sites: [Self.site], members: [:], testDomain: nil))
        let node = NginxRenderer.nodeText(text, listenAddress: "127.0.0.2")
        #expect(node.contains("        listen 127.0.0.2:8080;") && !node.contains("        listen 8080;"))
        #expect(node.replacingOccurrences(of: "listen 127.0.0.2:8080;", with: "listen 8080;") == text)
        #expect(NginxRenderer.nodeText(text, listenAddress: "fd00::1").contains("listen [fd00::1]:8080;"))
    }

    /// Our unified diff equals the real `diff -u` hunk for hunk.
    @Test(arguments: [(3, [5], [String]()), (3, [0, 40, 41, 42, 99], ["x", "y"]), (3, [], ["appended"]), (3, Array(10..<60), [])])
    func unifiedDiffMatchesDiffU(context: Int, removed: [Int], added: [String]) throws {
        let old = (0..<100).map { "line \($0)" }
        var new = old.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        for (i, line) in added.enumerated() { new.insert(line, at: min(new.count, 20 + i * 30)) }
        let a = old.joined(separator: "\n") + "\n", b = new.joined(separator: "\n") + "\n"
        let files = try DiffFiles(a, b)
        defer { files.remove() }
        let ours = UnifiedDiff.make(from: a, to: b)
        #expect(DiffFiles.hunks(ours) == DiffFiles.hunks(files.diffU), "ours:\n\(ours)\ndiff -u:\n\(files.diffU)")
        #expect(UnifiedDiff.make(from: a, to: a) == "")
    }

    /// Config-shaped texts repeat lines ("    }", blank lines, identical servers), so several minimal edit scripts
    /// exist and ours may place a change differently from GNU diff. It must still be minimal (as many changed lines
    /// as `diff -u`), `patch` must turn the old text into the new one with it, and a removed block must read as
    /// that block. Also a diff from an empty text.
    @Test(arguments: [false, true])
    func unifiedDiffMatchesDiffUOnRepeatedLines(fromEmpty: Bool) throws {
        func block(_ i: Int, server: String = "10.0.0.1:80") -> [String] { ["    upstream u\(i) {", "        server \(server);", "        server \(server);", "    }", ""] }
        let oldLines = fromEmpty ? [] : (0..<30).flatMap { block($0) }
        var newLines = (0..<30).filter { $0 != 20 }.flatMap { $0 == 7 ? block($0, server: "10.0.0.2:80") : block($0) }
        newLines += block(30)
        let a = oldLines.isEmpty ? "" : oldLines.joined(separator: "\n") + "\n", b = newLines.joined(separator: "\n") + "\n"
        let files = try DiffFiles(a, b)
        defer { files.remove() }
        let ours = UnifiedDiff.make(from: a, to: b)
        func changed(_ s: String) -> Int { s.split(separator: "\n").filter { ($0.hasPrefix("-") && !$0.hasPrefix("---")) || ($0.hasPrefix("+") && !$0.hasPrefix("+++")) }.count }
        #expect(changed(ours) > 0 && changed(ours) == changed(files.diffU), "ours:\n\(ours)\ndiff -u:\n\(files.diffU)")
        try ours.write(toFile: files.path("ours.diff"), atomically: true, encoding: .utf8)
        let patched = try ExternalTool.run(["patch", "-s", "-o", files.path("patched"), files.path("a"), files.path("ours.diff")])
        #expect(patched.status == 0, "patch: \(patched.output)")
        #expect(try String(contentsOfFile: files.path("patched"), encoding: .utf8) == b)
        if !fromEmpty {
            #expect(ours.contains("-    upstream u20 {\n-        server 10.0.0.1:80;\n-        server 10.0.0.1:80;\n-    }\n-\n     upstream u21 {"), "\(ours)")
        }
    }

    /// A text without its final newline: the hunks equal `diff -u`'s, marker included, also when only the
    /// newline differs.
    @Test(arguments: [("a\nb\nc\n", "a\nb\nc"), ("a\nb\nc", "a\nb\nd"), ("a\nb", "a\nb\nc\n"), ("x\n", "")])
    func unifiedDiffMarksAMissingFinalNewline(old: String, new: String) throws {
        let files = try DiffFiles(old, new)
        defer { files.remove() }
        let ours = UnifiedDiff.make(from: old, to: new)
        #expect(!DiffFiles.hunks(ours).isEmpty)
        #expect(DiffFiles.hunks(ours) == DiffFiles.hunks(files.diffU), "ours:\n\(ours)\ndiff -u:\n\(files.diffU)")
    }

    @Test func versionsOnlyForTextChangesAndRollbackRestoresSitesAndText() throws {
        let create = Command(CreateNginxCluster(name: "edge", environment: .prod, upstreams: [Self.web], sites: [Self.site]))
        var changed = Self.site
        changed.serverNames.append("www.shop.example.com")
        let (state, results) = run([
            create,
            Command(PutNginxSite(cluster: "edge", site: changed, reason: "add www")),
            Command(PutNginxSite(cluster: "edge", site: changed)),          // no change: refused
            Command(RecordNginxValidation(cluster: "edge", version: 1, valid: true, message: "ok")),
            Command(RollbackNginxConfig(cluster: "edge", version: 1)),
            Command(RollbackNginxConfig(cluster: "edge", version: 9)),  // no such version
            Command(PutNginxSite(cluster: "edge", site: NginxSite(name: "other", serverNames: ["shop.example.com"], listen: 8080,
                                                                        locations: [NginxLocation(path: "/", upstream: "web")]))),  // claims the same name
            Command(DeleteNginxUpstream(cluster: "edge", name: "web")),  // still routed to
        ])
        guard case .success(let v1) = results[0], let first = v1.last?.as(NginxConfigVersionCreated.self) else { Issue.record("create: \(results[0])"); return }
        #expect(first.version == 1 && first.diff.isEmpty && first.reason == "cluster created")
        guard case .success(let v2) = results[1], let second = v2.last?.as(NginxConfigVersionCreated.self) else { Issue.record("put: \(results[1])"); return }
        #expect(second.version == 2 && second.reason == "add www" && second.diff.contains("+        server_name shop.example.com www.shop.example.com;"))
        #expect(outcome(results[2]) == "unchanged", "the same site again changes nothing: \(results[2])")
        guard case .success(let v3) = results[4], let third = v3.last?.as(NginxConfigVersionCreated.self) else { Issue.record("rollback: \(results[4])"); return }
        #expect(third.version == 3 && third.text == first.text && third.rolledBackTo == 1)
        #expect(state?.sites["shop"] == Self.site, "the rollback restored version 1's sites")
        if case .failure(let r) = results[5] { #expect(r.code == .invalid) } else { Issue.record("rollback to a missing version must be refused") }
        if case .failure(let r) = results[6] { #expect(r.code == .conflict && r.reason.contains("both claim")) } else { Issue.record("duplicate claim") }
        if case .failure(let r) = results[7] { #expect(r.code == .invalid && r.reason.contains("routes to upstream")) } else { Issue.record("dangling route") }
    }

    /// The decider keeps whole contents of the newest versions only; a rollback past them must carry the content,
    /// and only content that hashes to what was recorded for that version is accepted.
    @Test func rollbackPastTheKeptVersionsNeedsTheRecordedContent() throws {
        var commands = [Command(CreateNginxCluster(name: "edge", environment: .prod, upstreams: [Self.web], sites: [Self.site]))]
        let versions = NginxClusterState.keptContents + 4
        for n in 2...versions {
            var site = Self.site
            site.serverNames.append("v\(n).shop.example.com")
            commands.append(Command(PutNginxSite(cluster: "edge", site: site)))
        }
        let (first, _) = run(Array(commands.prefix(1)))
        let versionOne = try #require(first?.contents[1])
        let (state, results) = run(commands)
        let s = try #require(state)
        #expect(results.allSatisfy { if case .success = $0 { true } else { false } })
        #expect(s.latestVersion == versions && s.versions.count == versions)
        #expect(s.contents.count == NginxClusterState.keptContents && s.contents[1] == nil, "only the newest contents are kept")

        func decide(_ content: NginxVersionContent?) -> Result<[Event], Rejection> {
            NginxDecider.decide(Command(RollbackNginxConfig(cluster: "edge", version: 1, content: content)), state: s)
        }
        guard case .failure(let missing) = decide(nil) else { Issue.record("a rollback past the kept versions without content must be refused"); return }
        #expect(missing.code == .invalid && missing.reason.contains("must carry its content"))

        var forgedText = versionOne
        forgedText.text += "    # injected\n"
        guard case .failure(let text) = decide(forgedText) else { Issue.record("content with another text must be refused"); return }
        #expect(text.reason.contains("is not the content"))
        var forgedSites = versionOne
        forgedSites.sites[0].serverNames.append("evil.example.com")
        guard case .failure(let sites) = decide(forgedSites) else { Issue.record("content with other sites must be refused"); return }
        #expect(sites.reason.contains("is not the content"))

        guard case .success(let events) = decide(versionOne), let created = events.last?.as(NginxConfigVersionCreated.self),
              let rolledBack = events.first?.as(NginxConfigRolledBack.self) else { Issue.record("the recorded content must be accepted"); return }
        #expect(created.text == versionOne.text && created.version == versions + 1 && created.rolledBackTo == 1)
        #expect(rolledBack.sites == [Self.site] && rolledBack.upstreams == [Self.web])

        // Within the kept versions the decider needs nothing carried, and still checks what is.
        let recent = versions - 2
        #expect(throws: Never.self) { try NginxDecider.decide(Command(RollbackNginxConfig(cluster: "edge", version: recent)), state: s).get() }
        guard case .failure = NginxDecider.decide(Command(RollbackNginxConfig(cluster: "edge", version: recent, content: forgedText)), state: s)
        else { Issue.record("forged content must be refused even for a kept version"); return }
    }
}

/// Two texts as files `a` and `b` in a scratch directory, and the real `diff -u` of them.
struct DiffFiles {
    let directory: String
    let diffU: String

    init(_ a: String, _ b: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-diff-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try a.write(toFile: directory + "/a", atomically: true, encoding: .utf8)
        try b.write(toFile: directory + "/b", atomically: true, encoding: .utf8)
        diffU = try ExternalTool.run(["diff", "-u", directory + "/a", directory + "/b"]).output
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// A unified diff without its file header lines.
    static func hunks(_ diff: String) -> [Substring] { diff.split(separator: "\n").filter { !$0.hasPrefix("---") && !$0.hasPrefix("+++") } }
}
