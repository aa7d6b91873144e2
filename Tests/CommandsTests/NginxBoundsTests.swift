@testable import Commands
import Events
import Foundation
import Testing
import TestSupport

/// What keeps a decision about an Nginx cluster bounded: the unified diff falls back to one hunk past its
/// edit-distance or work limit, and a cluster's size is capped.
@Suite struct NginxBoundsTests {
    static func changedLines(_ diff: String) -> (removed: Int, added: Int, context: Int, hunks: [Substring]) {
        let lines = diff.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.filter { $0.hasPrefix("-") && !$0.hasPrefix("---") }.count, lines.filter { $0.hasPrefix("+") && !$0.hasPrefix("+++") }.count,
                lines.filter { $0.hasPrefix(" ") }.count, lines.filter { $0.hasPrefix("@@") })
    }

    /// Applies `diff` to `files`' a with the real `patch` and returns the result.
    static func patched(_ diff: String, _ files: DiffFiles) throws -> String {
        try diff.write(toFile: files.path("ours.diff"), atomically: true, encoding: .utf8)
        let patch = try ExternalTool.run(["patch", "-s", "-o", files.path("patched"), files.path("a"), files.path("ours.diff")])
        #expect(patch.status == 0, "patch: \(patch.output)")
        return try String(contentsOfFile: files.path("patched"), encoding: .utf8)
    }

    // MARK: diff

    /// 40,000 lines, every other one changed (and the last): the shortest edit script has 40,002 steps, far past
    /// `maxEditDistance`. The diff removes and adds the whole text in one hunk, without Myers' quadratic frontier
    /// (which the standard library's `difference` would keep: gigabytes here), and it is still a correct patch.
    @Test func aPathologicalDiffFallsBackToOneHunkThatPatchApplies() throws {
        let count = 40_000
        let old = (0..<count).map { "    server 10.0.\($0 / 250).\($0 % 250):80;" }
        let new = old.enumerated().map { $0.offset % 2 == 0 || $0.offset == count - 1 ? "    server 10.1.\($0.offset / 250).\($0.offset % 250):80;" : $0.element }
        let a = old.joined(separator: "\n") + "\n", b = new.joined(separator: "\n") + "\n"
        let clock = ContinuousClock()
        let started = clock.now
        let diff = UnifiedDiff.make(from: a, to: b)
        // Not a measurement: a guard against the quadratic search coming back (minutes and gigabytes).
        #expect(clock.now - started < .seconds(30))
        let shape = Self.changedLines(diff)
        #expect(shape.hunks == ["@@ -1,\(count) +1,\(count) @@"], "\(shape.hunks.prefix(3))")
        #expect(shape.removed == count && shape.added == count && shape.context == 0)
        let files = try DiffFiles(a, b)
        defer { files.remove() }
        #expect(try Self.patched(diff, files) == b)
    }

    /// Just under the limit the diff is still the shortest: 900 lines replaced out of 2,000 (edit distance 1,800).
    @Test func underTheLimitTheDiffStaysMinimal() throws {
        let old = (0..<2_000).map { "line \($0)" }
        let new = old.enumerated().map { $0.offset < 1_800 && $0.offset % 2 == 1 ? "changed \($0.offset)" : $0.element }
        let a = old.joined(separator: "\n") + "\n", b = new.joined(separator: "\n") + "\n"
        let diff = UnifiedDiff.make(from: a, to: b)
        let shape = Self.changedLines(diff)
        #expect(shape.removed == 900 && shape.added == 900 && shape.context > 0, "\(shape.removed) \(shape.added) \(shape.context)")
        let files = try DiffFiles(a, b)
        defer { files.remove() }
        #expect(try Self.patched(diff, files) == b)
    }

    /// The bounded search finds edit scripts exactly as short as the standard library's on random texts of a small
    /// alphabet (many equal lines), its script turns a into b, and it gives up past `maxDistance`.
    @Test func boundedMyersIsMinimalAndGivesUpPastItsLimit() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        for _ in 0..<300 {
            let a = (0..<next(40)).map { _ in Int32(next(4)) }, b = (0..<next(40)).map { _ in Int32(next(4)) }
            let distance = b.difference(from: a).count
            guard let found = BoundedMyers.changes(a, b, maxDistance: 100, maxWork: 1_000_000) else { Issue.record("no script for \(a) -> \(b)"); return }
            #expect(found.removed.filter { $0 }.count + found.inserted.filter { $0 }.count == distance, "\(a) -> \(b)")
            let kept = zip(a, found.removed).filter { !$0.1 }.map(\.0), reached = zip(b, found.inserted).filter { !$0.1 }.map(\.0)
            #expect(kept == reached, "what is neither removed nor inserted is common to both: \(a) -> \(b)")
            if distance > 0 {
                #expect(BoundedMyers.changes(a, b, maxDistance: distance - 1, maxWork: 1_000_000) == nil)
            }
        }
        #expect(BoundedMyers.changes([0, 1, 2, 3], [0, 1, 2, 4], maxDistance: 10, maxWork: 2) == nil, "the work limit stops it too")
    }

    // MARK: cluster size

    static func servers(_ block: Int, _ count: Int) -> [NginxUpstreamServer] {
        (0..<count).map { NginxUpstreamServer(address: "10.\(block).\($0 / 250).\($0 % 250 + 1):80") }
    }

    /// Four upstreams of 5,000 servers fill the cap of 20,000 server lines; one more line is refused with the limit
    /// named, and shrinking is always allowed.
    @Test func serverLinesPastTheCapAreRefusedNamingTheLimit() throws {
        let full = (0..<4).map { NginxUpstream(name: "u\($0)", servers: Self.servers($0, 5_000)) }
        guard case .success(let created) = NginxDecider.decide(Command(CreateNginxCluster(name: "big", environment: .prod, upstreams: full)), state: nil)
        else { Issue.record("20,000 server lines are within the cap"); return }
        var state: NginxClusterState?
        for (i, event) in created.enumerated() {
            state = NginxClusterState.evolve(state, EventEnvelope(id: "e\(i)", aggregate: "nginx-cluster/big", actor: "user:alice", time: "2026-11-27T10:00:00.000Z",
                                                                  correlationId: "c", causationId: "c", commandType: "CreateNginxCluster",
                                                                  commandPosition: LogPosition(partition: 0, offset: 0), event: event))
        }
        let more = Command(PutNginxUpstream(cluster: "big", upstream: NginxUpstream(name: "u4", servers: Self.servers(4, 1))))
        guard case .failure(let rejection) = NginxDecider.decide(more, state: state) else { Issue.record("server line 20,001 must be refused"); return }
        #expect(rejection.code == .invalid)
        #expect(rejection.reason == "cluster \"big\" would have 20001 upstream server lines (VM addresses plus live service members); the limit is 20000 per cluster")
        let smaller = Command(PutNginxUpstream(cluster: "big", upstream: NginxUpstream(name: "u3", servers: Self.servers(3, 4_000))))
        guard case .success = NginxDecider.decide(smaller, state: state) else { Issue.record("shrinking an upstream must be allowed"); return }
    }

    /// Within every count cap, long canary values in 5,000 locations render past 4 MiB: the cluster is refused
    /// with the byte limit named, before any diff is made.
    @Test func aRenderedConfigPastFourMiBIsRefused() throws {
        let long = String(repeating: "v", count: 250)
        let canary = NginxCanary(upstream: "beta", weightPercent: 5, header: NginxMatch(name: "X-Canary-" + String(repeating: "h", count: 50), value: long),
                                 cookie: NginxMatch(name: "canary_" + String(repeating: "c", count: 50), value: long))
        let sites = (0..<50).map { s in
            NginxSite(name: "site-\(s)", serverNames: ["s\(s).example.com"], listen: 8080,
                      locations: (0..<100).map { NginxLocation(path: "/\(String(repeating: "p", count: 200))/\($0)", upstream: "web", canary: canary) })
        }
        let upstreams = [NginxUpstream(name: "web", servers: Self.servers(0, 10)), NginxUpstream(name: "beta", servers: Self.servers(1, 10))]
        let input = NginxRenderInput(cluster: "huge", environment: .prod, upstreams: upstreams, sites: sites, members: [:], testDomain: nil)
        let bytes = NginxRenderer.render(input).utf8.count
        try #require(bytes > NginxLimits.maxConfigBytes, "the fixture must render past the cap: \(bytes) bytes")
        let create = Command(CreateNginxCluster(name: "huge", environment: .prod, upstreams: upstreams, sites: sites))
        #expect(NginxValidation.validate(create).isEmpty)
        guard case .failure(let rejection) = NginxDecider.decide(create, state: nil) else { Issue.record("a config of \(bytes) bytes must be refused"); return }
        #expect(rejection.code == .invalid)
        #expect(rejection.reason == "cluster \"huge\" would render a config of \(bytes) bytes; the limit is 4194304 bytes (4 MiB) per cluster")
    }
}
