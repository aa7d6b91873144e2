import ArgumentParser
import Commands
import Events
import Foundation
import Workers

struct BenchNginxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nginx",
        abstract: "Measure Nginx config generation (render + diff of a fleet) and apply per node (nginx -t + reload).",
        discussion: """
        1. Builds --clusters clusters in memory, each with --servers upstream servers spread over --upstreams upstreams
           (half VM backends host:port, half members of Wharf services) and one site per two upstreams, the second
           being a 10 % canary. Then, --rounds times, changes one server in every cluster and times what the decider
           does for each change: render, unified diff against the previous version, SHA-256, validation. Render alone
           (unchanged blocks from the renderer's cache, as in a running Wharf), render with nothing cached (the first
           change to a cluster after a restart) and diff alone are timed on the same inputs, and a service-members change (upstreams follow services)
           is timed the same way. All of that runs on one core; then the server edits are timed again with the
           clusters spread over every core, as the command processor decides its partitions concurrently.
        2. Applies one cluster's versions --applies times to a real nginx in a scratch prefix, the way
           `wharf nginx-agent` does (temp file + rename, nginx -t, reload), and prints the median, p95 and max
           time until the new workers serve and until the old ones have gone (nginx's master waits 100 ms before
           it retires them); then `nginx -t` alone, and the worker's check of a version (`nginx -t` in a scratch
           prefix of its own).

        Needs nginx for part 2 (WHARF_NGINX, else nginx on PATH or /usr/sbin; ops/run installs it). No database.
        Build with `swift build -c release` for meaningful figures.
        """)

    @Option(help: "Nginx clusters in the fleet.") var clusters = 100
    @Option(help: "Upstream servers per cluster.") var servers = 1_000
    @Option(help: "Upstreams per cluster (servers are spread over them evenly).") var upstreams = 20
    @Option(help: "Times the whole fleet is changed and timed.") var rounds = 9
    @Option(help: "Applies to the nginx node (after one that starts it).") var applies = 50
    @Flag(help: "Skip part 2 (no nginx needed).") var skipApply = false

    func validate() throws {
        guard clusters > 0 else { throw ValidationError("--clusters must be at least 1") }
        guard upstreams >= 2, upstreams % 2 == 0 else { throw ValidationError("--upstreams must be an even number >= 2 (sites pair a main and a canary upstream)") }
        guard servers >= upstreams else { throw ValidationError("--servers must be at least --upstreams (\(upstreams))") }
        guard rounds > 0 else { throw ValidationError("--rounds must be at least 1") }
        guard applies > 0 else { throw ValidationError("--applies must be at least 1") }
    }

    func run() throws {
        let port = try Self.freeLoopbackPort()
        let fleet = NginxBenchFleet(upstreams: upstreams, serversPerUpstream: servers / upstreams, listen: port)
        var states: [NginxClusterState] = []
        let clock = ContinuousClock()
        let building = try clock.measure {
            for c in 0..<clusters { states.append(try fleet.createdCluster(c)) }
        }
        let lines = states[0].latestText.utf8.filter { $0 == UInt8(ascii: "\n") }.count
        print("fleet: \(clusters) clusters x \(fleet.serversPerUpstream * upstreams) upstream servers (\(upstreams) upstreams, \(upstreams / 2) sites); one config is \(lines) lines, \(states[0].latestText.utf8.count) bytes")
        print(String(format: "building it (create + %d service syncs per cluster, each a version): %.1f ms", upstreams / 2, building.seconds * 1000))

        var editTotals: [Double] = [], renderTotals: [Double] = [], coldTotals: [Double] = [], diffTotals: [Double] = [], memberTotals: [Double] = []
        for round in 1...rounds {
            // One VM server's weight changes in every cluster: the decider's whole work per change.
            editTotals.append(try clock.measure {
                for c in states.indices { try fleet.apply(fleet.weightEdit(of: states[c], round: round), to: &states[c]) }
            }.seconds * 1000)
            // Parts of that work: rendering the new state again (every block now cached), then the diff alone.
            var texts: [(String, String)] = []
            renderTotals.append(clock.measure {
                for s in states { texts.append((s.contents[s.latestVersion - 1]?.text ?? "", NginxRenderer.render(s.renderInput))) }
            }.seconds * 1000)
            diffTotals.append(clock.measure {
                for (old, new) in texts { _ = UnifiedDiff.make(from: old, to: new) }
            }.seconds * 1000)
            // One member of a service moves in every cluster (upstreams follow services).
            memberTotals.append(try clock.measure {
                for c in states.indices { try fleet.apply(fleet.memberMove(of: states[c], round: round), to: &states[c]) }
            }.seconds * 1000)
            // Render from nothing: what the first change to each cluster costs after a restart. Then the cache is
            // filled again (untimed), as a running Wharf's would be.
            coldTotals.append(clock.measure {
                for s in states {
                    NginxRenderer.clearBlockCache()
                    _ = NginxRenderer.render(s.renderInput)
                }
            }.seconds * 1000)
            for s in states { _ = NginxRenderer.render(s.renderInput) }
        }
        // The same server edits with the fleet spread over every core, as the command processor decides its
        // partitions concurrently.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var parallelTotals: [Double] = []
        for round in 1...rounds {
            var shares = (0..<cores).map { w in stride(from: w, to: states.count, by: cores).map { states[$0] } }
            var failures = [String?](repeating: nil, count: cores)
            parallelTotals.append(clock.measure {
                shares.withUnsafeMutableBufferPointer { shares in
                    failures.withUnsafeMutableBufferPointer { failures in
                        DispatchQueue.concurrentPerform(iterations: cores) { w in
                            do {
                                for k in shares[w].indices { try fleet.apply(fleet.weightEdit(of: shares[w][k], round: 100 + round), to: &shares[w][k]) }
                            } catch { failures[w] = "\(error)" }
                        }
                    }
                }
            }.seconds * 1000)
            if let failure = failures.compactMap({ $0 }).first { throw ValidationError(failure) }
            for (w, share) in shares.enumerated() { for (k, state) in share.enumerated() { states[w + k * cores] = state } }
        }
        func line(_ label: String, _ figures: [Double]) {
            let sorted = figures.sorted()
            print(String(format: "%@ median %7.1f ms  best %7.1f ms  worst %7.1f ms  (%.2f ms per cluster)", label.padding(toLength: 44, withPad: " ", startingAt: 0),
                         sorted[sorted.count / 2], sorted.first!, sorted.last!, sorted[sorted.count / 2] / Double(clusters)))
        }
        print("per round, all \(clusters) clusters, \(rounds) rounds:")
        line("  server edit -> new version (decide)", editTotals)
        line("    render again, every block cached", renderTotals)
        line("    render with no block cached", coldTotals)
        line("    unified diff alone", diffTotals)
        line("  service member moves -> new version", memberTotals)
        line("  server edit, fleet spread over \(cores) cores", parallelTotals)
        fflush(stdout)

        guard !skipApply else { return }
        guard let nginx = NginxCommandLine.find() else {
            throw ValidationError("nginx not found: set WHARF_NGINX or install nginx (ops/run installs it), or pass --skip-apply")
        }
        try benchApply(nginx: nginx, fleet: fleet, cluster: states[0])
    }

    /// Part 2: one node on loopback, a chain of versions of one cluster applied the agent's way.
    private func benchApply(nginx: NginxCommandLine, fleet: NginxBenchFleet, cluster: NginxClusterState) throws {
        var state = cluster
        var texts: [String] = []
        for round in 0...applies {
            try fleet.apply(fleet.weightEdit(of: state, round: 1_000 + round), to: &state)
            texts.append(NginxRenderer.nodeText(state.latestText, listenAddress: "127.0.0.1"))
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-bench-nginx-\(UUID().uuidString.prefix(8))").path
        let applier = NginxNodeApplier(nginx: nginx, prefix: root + "/node")
        defer {
            applier.stop()
            try? FileManager.default.removeItem(atPath: root)
        }
        guard case .applied(let startMs, _, _) = try applier.apply(texts[0]) else {
            throw ValidationError("the first version did not start nginx; see \(root)/node/logs/error.log")
        }
        var times: [Double] = [], retiredTimes: [Double] = [], draining = 0
        for text in texts.dropFirst() {
            switch try applier.apply(text) {
            case .applied(let ms, let retired, _):
                times.append(ms)
                if let retired { retiredTimes.append(retired) } else { draining += 1 }
            case .failed(let message): throw ValidationError("apply failed: \(message)")
            }
        }
        let clock = ContinuousClock()
        var testTimes: [Double] = [], checkTimes: [Double] = []
        for text in texts.prefix(10) {
            testTimes.append(try clock.measure { _ = try nginx.run(prefix: applier.prefix, config: applier.configPath, ["-t", "-q"]) }.seconds * 1000)
            checkTimes.append(try clock.measure { _ = try nginx.test(text: text, scratchRoot: root) }.seconds * 1000)
        }
        times.sort(); retiredTimes.sort(); testTimes.sort(); checkTimes.sort()
        func pct(_ xs: [Double], _ q: Double) -> Double { xs[min(xs.count - 1, Int(Double(xs.count) * q))] }
        print("apply per node (\(nginx.binary), one node on 127.0.0.1:\(fleet.listen), \(times.count) applies after a start of \(String(format: "%.1f", startMs)) ms):")
        print(String(format: "  write + rename + nginx -t + reload, new workers serving:  median %6.1f ms  p95 %6.1f ms  max %6.1f ms",
                     pct(times, 0.5), pct(times, 0.95), times.last!))
        print(String(format: "    nginx -t alone:                                         median %6.1f ms", pct(testTimes, 0.5)))
        if retiredTimes.isEmpty {
            print("  ... old workers were still finishing requests 5 s later after every apply")
        } else {
            print(String(format: "  ... and old workers gone (nginx pauses 100 ms first):     median %6.1f ms  p95 %6.1f ms  max %6.1f ms",
                         pct(retiredTimes, 0.5), pct(retiredTimes, 0.95), retiredTimes.last!)
                  + (draining > 0 ? "  (\(draining) applies: still draining after 5 s)" : ""))
        }
        print(String(format: "  worker's check of a version (nginx -t, scratch prefix):   median %6.1f ms", pct(checkTimes, 0.5)))
    }

    /// A loopback port nobody listens on now, for the bench node.
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The benchmark's fleet: clusters built and changed through the real decider and fold, as the processor does.
struct NginxBenchFleet {
    let upstreams: Int
    let serversPerUpstream: Int
    let listen: Int

    /// Even upstreams hold VM backends, odd ones a service's members; site k routes to upstream 2k with a 10 %
    /// canary on upstream 2k+1.
    func createdCluster(_ index: Int) throws -> NginxClusterState {
        let name = "bench-\(index)"
        var ups: [NginxUpstream] = []
        for u in 0..<upstreams {
            if u % 2 == 0 {
                ups.append(NginxUpstream(name: "up-\(u)", servers: (0..<serversPerUpstream).map { s in
                    NginxUpstreamServer(address: Self.address(cluster: index, upstream: u, server: s), weight: 1, maxFails: 3, failTimeoutSeconds: 10)
                }))
            } else {
                ups.append(NginxUpstream(name: "up-\(u)", servers: [NginxUpstreamServer(service: "svc-\(u)", maxFails: 3)]))
            }
        }
        let sites = (0..<upstreams / 2).map { k in
            NginxSite(name: "site-\(k)", serverNames: ["site-\(k).bench-\(index).example.com"], listen: listen,
                      locations: [NginxLocation(path: "/", upstream: "up-\(2 * k)", canary: NginxCanary(upstream: "up-\(2 * k + 1)", weightPercent: 10))],
                      healthCheck: NginxHealthCheck(nextUpstreamOn: ["error", "timeout"], tries: 2, connectTimeoutSeconds: 2))
        }
        var state: NginxClusterState?
        try apply(Command(CreateNginxCluster(name: name, environment: .prod, nodes: [NginxNode(name: "node-1")], upstreams: ups, sites: sites)), to: &state)
        for u in stride(from: 1, to: upstreams, by: 2) {
            let members = NginxServiceMembers(service: "svc-\(u)", revision: 1, image: "registry.local/bench/app:1",
                                              addresses: (0..<serversPerUpstream).map { Self.address(cluster: index, upstream: u, server: $0) })
            try apply(Command(SyncNginxServiceMembers(cluster: name, members: members)), to: &state)
        }
        return state!
    }

    /// One VM server of upstream 0 gets a new weight.
    func weightEdit(of state: NginxClusterState, round: Int) -> Command {
        var upstream = state.upstreams["up-0"]!
        let s = round % upstream.servers.count
        upstream.servers[s].weight = (upstream.servers[s].weight ?? 1) % 9 + 1
        return Command(PutNginxUpstream(cluster: state.name, upstream: upstream, reason: "bench round \(round)"))
    }

    /// One member of service svc-1 moves to another address.
    func memberMove(of state: NginxClusterState, round: Int) -> Command {
        var members = state.members["svc-1"]!
        members.addresses[round % members.addresses.count] = "10.255.\(round % 250).\(round / 250 % 250 + 1):8080"
        members.revision += 1
        return Command(SyncNginxServiceMembers(cluster: state.name, members: members))
    }

    func apply(_ command: Command, to state: inout NginxClusterState) throws {
        var optional: NginxClusterState? = state
        try apply(command, to: &optional)
        state = optional!
    }

    /// decide, then fold the events, as the command processor does; a rejection is a bug in the bench.
    func apply(_ command: Command, to state: inout NginxClusterState?) throws {
        switch NginxDecider.decide(command, state: state) {
        case .failure(let rejection): throw ValidationError("the decider refused a bench change: \(rejection)")
        case .success(let events):
            for event in events {
                state = NginxClusterState.evolve(state, EventEnvelope(
                    id: "bench", aggregate: command.aggregate, actor: "user:bench", time: "2026-11-27T00:00:00.000Z", correlationId: "bench",
                    causationId: "bench", commandType: command.type, commandPosition: LogPosition(partition: 0, offset: 0), event: event))
            }
        }
    }

    static func address(cluster: Int, upstream: Int, server: Int) -> String {
        "10.\(cluster % 250).\(upstream % 250).\(server % 250 + 1):\(8000 + server / 250)"
    }
}
