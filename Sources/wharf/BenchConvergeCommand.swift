import ArgumentParser
import AsyncHTTPClient
import EventLog
import Events
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Projections
import Prometheus
import Server
import Workers

/// `wharf bench converge`: many services over simulated clusters, end to end: how long until what runs matches what
/// was asked, and how many API writes each change costs.
struct BenchConvergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "converge",
        abstract: "Time to converge N services over simulated clusters, and Kubernetes API writes per service change.",
        discussion: """
        Starts --clusters simulated Kubernetes APIs (ops/kube-sim under WHARF_ROOT: not real clusters, none can run \
        here) and the runtime `wharf serve` runs (gateway, processor signing checkpoints, projector, placement scheduler, \
        cluster workers) behind its HTTP server on loopback, on a scratch database. Registers the clusters, creates \
        --services services (--replicas each, one port) and places each over every cluster (static weights 1:1:...), \
        all through the HTTP API. Three phases, each timed until converged: for every service, its pods in the \
        simulated clusters are all ready and of its current revision, and its live members (what the Nginx upstreams \
        follow) are exactly those pods' addresses. \
          1. create: from the first placement to converged. \
          2. change: --changes services get a new image (a rolling update in every cluster). \
          3. resync: the runtime is restarted (the cluster workers apply every object once more) with nothing changed. \
        For each phase it prints the API writes per kind that the simulators recorded (a write is a stored change; \
        an apply that changes nothing is not a write) and the applies Wharf sent. Goals: one write per changed object, \
        zero writes for a resync. Run it through `ops/wharf` (which sets WHARF_ROOT), on a release build for figures.
        """)

    @Option(help: "Services.") var services = 2_000
    @Option(help: "Replicas per service (divided over the clusters).") var replicas = 3
    @Option(help: "Simulated clusters.") var clusters = 3
    @Option(help: "Services upgraded in the change phase.") var changes = 200
    @Option(help: "Nodes per simulated cluster (each 64 CPU, 256Gi, 110 pods).") var nodes = 30
    @Option(help: "Seconds a simulated pod takes to become ready.") var readyDelay = 0.5
    @Option(help: "Seconds a phase may take before the bench gives up.") var timeout = 900
    @Option(help: "Partitions.") var partitions = 12

    func validate() throws {
        guard services >= 1, replicas >= 1, replicas <= 100 else { throw ValidationError("--services must be at least 1, --replicas 1-100") }
        guard (1...8).contains(clusters) else { throw ValidationError("--clusters must be 1-8") }
        guard (0...services).contains(changes) else { throw ValidationError("--changes must be 0-\(services)") }
        guard (1...200).contains(nodes) else { throw ValidationError("--nodes must be 1-200") }
    }

    func run() async throws {
        guard let root = ProcessInfo.processInfo.environment["WHARF_ROOT"], FileManager.default.isExecutableFile(atPath: root + "/ops/kube-sim") else {
            throw ValidationError("WHARF_ROOT must name the Wharf checkout (ops/kube-sim starts the simulated clusters): run `ops/wharf bench converge`")
        }
        setvbuf(stdout, nil, _IOLBF, 0)  // line by line, also into a file: a phase's figure shows when it is measured
        var logger = makeLogger("wharf-bench")
        logger.logLevel = .error
        var sims: [SimulatedCluster] = []
        do {
            for i in 0..<clusters {
                sims.append(try SimulatedCluster.start(root: root, name: "c\(i)", nodes: nodes, readyDelay: readyDelay, podNetwork: "10.\(90 + i)"))
            }
            try await measure(sims, logger: logger)
        } catch {
            for sim in sims { await sim.stop() }
            throw error
        }
        for sim in sims { await sim.stop() }
    }

    func measure(_ sims: [SimulatedCluster], logger: Logger) async throws {
        let bench = try await BenchDatabase.open(prefix: "wharf_converge", logger: logger)
        let log = try await PostgresEventLog.open(database: bench.database)
        try await log.ensureTopics(TopicSpec.spine(partitions: partitions))
        let signer = CheckpointSigner(privateKey: .init())
        let authenticator = CommandAuthenticator.ephemeral()
        let secrets = SecretKeyring.ephemeral()
        func makeRuntime() async throws -> WharfRuntime {
            try await WharfRuntime(store: WharfStore.attach(database: bench.database, log: log), partitions: partitions, registry: PrometheusCollectorRegistry(),
                                   logger: logger, signer: signer, secrets: secrets, commandAuthenticator: authenticator)
        }
        var runtime = try await makeRuntime()
        runtime.start()
        let token = TokenStore.generateToken()
        _ = try await runtime.bootstrap(token: token)
        var server = await LoopbackServer.start(runtime, logger: logger)
        let api = BenchAPI(base: server.base, token: token)
        print("\(services) services x \(replicas) replicas over \(clusters) simulated clusters (ops/kube-sim, \(nodes) nodes each); Postgres log, \(partitions) partitions")

        do {
            try await api.write(.POST, "/v1/business-lines", ["name": "bench", "displayName": "Bench"])
            for sim in sims {
                try await api.write(.POST, "/v1/clusters", ["name": sim.name, "apiServer": sim.apiServer, "caBundle": sim.caBundle, "token": sim.token,
                                                           "environment": "test"])
            }
            try await waitFor("every cluster healthy", seconds: 60) {
                let list = try await api.get("/v1/clusters")["items"] as? [[String: Any]] ?? []
                return list.count == clusters && list.allSatisfy { $0["healthy"] as? Bool == true }
            }
            let names = (0..<services).map { String(format: "svc-%05d", $0) }
            var revision = Dictionary(uniqueKeysWithValues: names.map { ($0, 1) })
            let created = ContinuousClock.now
            try await api.concurrently(names) { name in
                try await api.write(.POST, "/v1/services", ["name": name, "businessLine": "bench", "image": "registry.local/bench/\(name):1",
                                                            "replicas": replicas, "ports": [["containerPort": 8080]]])
            }
            print(String(format: "created %d services through the API in %.1f s", services, (ContinuousClock.now - created).seconds))
            let weights = Dictionary(uniqueKeysWithValues: sims.map { ($0.name, 1) })
            for sim in sims { try sim.resetStats() }

            // 1. create: placements, then until every service runs where it should.
            var started = ContinuousClock.now
            var cpu = (own: BenchSpineCommand.processCPUSeconds(), all: BenchSpineCommand.machineCPUSeconds())
            try await api.concurrently(names) { name in
                try await api.write(.PUT, "/v1/services/\(name)/placement", ["clusters": sims.map(\.name), "division": "static-weight", "weights": weights,
                                                                          "replicaCPUMillis": 100, "replicaMemoryBytes": 128 << 20])
            }
            let placed = ContinuousClock.now - started
            try await converged(sims, database: bench.database, revisions: revision)
            report("create", since: started, cpu: cpu, note: String(format: "placements written in %.1f s", placed.seconds), sims: sims, services: services)

            // 2. change: a new image for --changes services.
            for sim in sims { try sim.resetStats() }
            let changed = Array(names.prefix(changes))
            started = ContinuousClock.now
            cpu = (BenchSpineCommand.processCPUSeconds(), BenchSpineCommand.machineCPUSeconds())
            try await api.concurrently(changed) { name in
                try await api.write(.POST, "/v1/services/\(name)/upgrade", ["image": "registry.local/bench/\(name):2"])
            }
            for name in changed { revision[name] = 2 }
            try await converged(sims, database: bench.database, revisions: revision)
            report("change", since: started, cpu: cpu, note: "\(changes) services upgraded", sims: sims, services: changes)

            // 3. resync: a restart re-applies every object; nothing changed, so nothing should be written.
            server.task.cancel()
            await runtime.stop()
            for sim in sims { try sim.resetStats() }
            started = ContinuousClock.now
            cpu = (BenchSpineCommand.processCPUSeconds(), BenchSpineCommand.machineCPUSeconds())
            runtime = try await makeRuntime()
            runtime.start()
            server = await LoopbackServer.start(runtime, logger: logger)
            let expectedApplies = sims.count * (1 + 2 * services)  // a Namespace, and each service's Deployment and Service
            try await waitFor("every object applied once more after the restart", seconds: timeout) {
                try sims.reduce(0) { $0 + (try $1.stats()["applies"] as? Int ?? 0) } >= expectedApplies
            }
            try await converged(sims, database: bench.database, revisions: revision)
            report("resync", since: started, cpu: cpu, note: "restart, nothing changed", sims: sims, services: services)
        } catch {
            server.task.cancel()
            await runtime.stop()
            throw error
        }
        server.task.cancel()
        await runtime.stop()
        log.close()
        try await bench.drop()
    }

    /// Until, for every service, the simulated clusters run exactly `replicas` ready pods of its revision and its live
    /// members are those pods' addresses.
    func converged(_ sims: [SimulatedCluster], database: Database, revisions: [String: Int]) async throws {
        var last = ""
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            // Wharf's own view first (one query): only when it says converged are the simulators asked (listing 6,000
            // pods every second would load them more than the cluster workers do).
            let (ready, why) = try await wharfSaysConverged(database: database, revisions: revisions)
            if !ready {
                last = "Wharf's read models: \(why)"
                try await Task.sleep(for: .milliseconds(500))
                continue
            }
            var pods: [String: [(ip: String, ready: Bool, revision: Int)]] = [:]
            for sim in sims {
                for pod in try await sim.client.getJSON("/api/v1/pods?labelSelector=wharf.dev%2Fmanaged-by%3Dwharf", timeout: .seconds(60))["items"]
                    as? [[String: Any]] ?? [] {
                    let metadata = pod["metadata"] as? [String: Any], status = pod["status"] as? [String: Any]
                    guard metadata?["deletionTimestamp"] == nil, let service = (metadata?["labels"] as? [String: String])?["wharf.dev/service"] else { continue }
                    let ready = (status?["conditions"] as? [[String: Any]] ?? []).contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" }
                    let revision = Int((metadata?["annotations"] as? [String: String])?["wharf.dev/revision"] ?? "") ?? 0
                    pods[service, default: []].append(((status?["podIP"] as? String) ?? "", ready, revision))
                }
            }
            let members = try await database.client.withConnection { c in
                var out: [String: Set<String>] = [:]
                let rows = try await c.query("SELECT name, addresses::text FROM \(unescaped: ReadModelSchema.live).services", logger: database.logger)
                for try await (name, addresses) in rows.decode((String, String).self) {
                    out[name] = Set(try CanonicalJSON.decode([String].self, from: addresses))
                }
                return out
            }
            var notYet = 0, example = ""
            for (service, revision) in revisions {
                let running = pods[service] ?? []
                let ok = running.count == replicas && running.allSatisfy { $0.ready && $0.revision == revision }
                    && members[service] == Set(running.map { "\($0.ip):8080" })
                if !ok {
                    notYet += 1
                    if example.isEmpty { example = "\(service): \(running.count) pods, \(running.filter(\.ready).count) ready, members \(members[service]?.count ?? 0)" }
                }
            }
            if notYet == 0 { return }
            last = "\(notYet) services not converged (e.g. \(example))"
            try await Task.sleep(for: .seconds(1))
        }
        throw ValidationError("not converged within \(timeout) s: \(last)")
    }

    /// Every service at its expected revision, with `replicas` members, and every cluster's rollout of it complete at
    /// that revision, as the read models say.
    func wharfSaysConverged(database: Database, revisions: [String: Int]) async throws -> (Bool, String) {
        try await database.client.withConnection { c in
            let rows = try await c.query("""
                SELECT s.name, s.revision, jsonb_array_length(s.addresses),
                       count(r.cluster)::int, coalesce(bool_and((r.rollout->>'complete')::boolean AND (r.rollout->>'revision')::int = s.revision), false)
                  FROM \(unescaped: ReadModelSchema.live).services s
                  LEFT JOIN \(unescaped: ReadModelSchema.live).rollouts r ON r.service = s.name
                 GROUP BY s.name, s.revision, s.addresses
                """, logger: database.logger)
            var pending = 0, example = ""
            var seen = 0
            for try await (name, revision, members, clusters, complete) in rows.decode((String, Int, Int, Int, Bool).self) {
                guard let expected = revisions[name] else { continue }
                seen += 1
                if revision != expected || members != replicas || clusters < min(self.clusters, replicas) || !complete {
                    pending += 1
                    if example.isEmpty { example = "\(name): revision \(revision), \(members) members, \(clusters) rollouts, complete \(complete)" }
                }
            }
            if seen < revisions.count { return (false, "\(revisions.count - seen) services not projected yet") }
            return (pending == 0, "\(pending) services not converged (e.g. \(example))")
        }
    }

    func waitFor(_ what: String, seconds: Int, _ check: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if (try? await check()) == true { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw ValidationError("\(what): not within \(seconds) s")
    }

    func report(_ phase: String, since: ContinuousClock.Instant, cpu: (own: Double, all: Double), note: String, sims: [SimulatedCluster], services: Int) {
        let seconds = (ContinuousClock.now - since).seconds
        let own = BenchSpineCommand.processCPUSeconds() - cpu.own, all = BenchSpineCommand.machineCPUSeconds() - cpu.all
        var writes: [String: Int] = [:], applies = 0, noop = 0
        for sim in sims {
            guard let stats = try? sim.stats() else { continue }
            for (kind, n) in stats["writes"] as? [String: Int] ?? [:] where n > 0 { writes[kind, default: 0] += n }
            applies += stats["applies"] as? Int ?? 0
            noop += stats["noopApplies"] as? Int ?? 0
        }
        let total = writes.values.reduce(0, +)
        print(String(format: "%-7@ converged in %6.1f s (%@): API writes %d (%@), %.2f per service; applies %d, of which changed nothing %d",
                     phase, seconds, note, total, writes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                     Double(total) / Double(max(1, services)), applies, noop))
        print(String(format: "        CPU: wharf %.1f s, the rest (simulators, Postgres) %.1f s, of %.1f s x %d cores", own, max(0, all - own), seconds,
                     ProcessInfo.processInfo.activeProcessorCount))
        fflush(stdout)
    }
}

/// One `ops/kube-sim` started for the bench, on a free loopback port with a directory of its own.
struct SimulatedCluster {
    let name: String
    let directory: String
    let script: String
    let apiServer: String
    let token: String
    let caBundle: String
    let client: KubernetesClient

    static func start(root: String, name: String, nodes: Int, readyDelay: Double, podNetwork: String) throws -> SimulatedCluster {
        let directory = NSTemporaryDirectory() + "wharf-bench-sim-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try BenchNginxCommand.freeLoopbackPort()
        let script = root + "/ops/kube-sim"
        let out = try ChildProcess.run(["/usr/bin/env", "bash", script, "start", String(port), directory, "--nodes", String(nodes), "--node-cpu", "64", "--node-memory", "256Gi",
                               "--ready-delay", String(readyDelay), "--pod-cidr", podNetwork], timeLimit: .seconds(60))
        guard out.status == 0 else { throw ValidationError("ops/kube-sim start failed: \(out.output)") }
        let token = try String(contentsOfFile: directory + "/token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let ca = try String(contentsOfFile: directory + "/ca.crt", encoding: .utf8)
        let apiServer = "https://127.0.0.1:\(port)"
        return SimulatedCluster(name: name, directory: directory, script: script, apiServer: apiServer, token: token, caBundle: ca,
                                client: try KubernetesClient(apiServer: apiServer, caBundle: ca, token: token))
    }

    func stats() throws -> [String: Any] {
        let out = try ChildProcess.run(["/usr/bin/env", "bash", script, "stats", directory], timeLimit: .seconds(30))
        guard out.status == 0, let object = try? JSONSerialization.jsonObject(with: Data(out.output.utf8)) as? [String: Any] else {
            throw ValidationError("ops/kube-sim stats failed: \(out.output)")
        }
        return object
    }

    func resetStats() throws {
        let out = try ChildProcess.run(["/usr/bin/env", "bash", script, "stats-reset", directory], timeLimit: .seconds(30))
        guard out.status == 0 else { throw ValidationError("ops/kube-sim stats-reset failed: \(out.output)") }
    }

    func stop() async {
        await client.shutdown()
        _ = try? ChildProcess.run(["/usr/bin/env", "bash", script, "stop", directory], timeLimit: .seconds(30))
        try? FileManager.default.removeItem(atPath: directory)
    }
}
