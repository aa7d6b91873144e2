import ArgumentParser
import AsyncHTTPClient
import Commands
import EventLog
import Events
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import Server

struct BenchHTTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Concurrent HTTP writes, each waiting for its decision, against a Wharf server with a long history.",
        discussion: """
        Builds --history events through the real processor (commands authenticated, checkpoints signed, snapshots) on
        a scratch database beside WHARF_DATABASE_URL (or the private Postgres under WHARF_DATA_DIR), then runs the
        runtime `wharf serve` runs (gateway, command processor signing checkpoints every 1,000 events or 10 s,
        snapshots, projector, outcome tracker, workers) behind its HTTP server on loopback, and waits until it has
        caught up. For each --clients count, that many clients, each on its own keep-alive connection, post scales of
        their own services for --seconds; every answer is the decided outcome, as the API gives it. Prints writes/s,
        p50 and p99 per count. Leaves out: TLS, and nginx -t (no Nginx clusters in this history). The scratch database
        is dropped afterwards. Build with `swift build -c release` for meaningful figures.
        """)

    @Option(help: "Events of history before the clients start.") var history = 1_000_000
    @Option(help: "Client counts to run in turn, comma-separated; each client is one keep-alive connection.") var clients = "1,8,32"
    @Option(help: "Seconds each client count runs.") var seconds = 10
    @Option(help: "Partitions.") var partitions = 12
    @Flag(help: "Also print where the writes' time went: the command's append and commit, then until its outcome was known.")
    var trace = false

    func run() async throws {
        let counts = clients.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.count == clients.split(separator: ",").count, counts.allSatisfy({ (1...512).contains($0) }) else {
            throw ValidationError("--clients: comma-separated counts from 1 to 512, e.g. 1,8,32")
        }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        var logger = makeLogger("wharf-bench")
        logger.logLevel = .warning
        let bench = try await BenchDatabase.open(prefix: "wharf_http", logger: logger)
        let log = try await PostgresEventLog.open(database: bench.database)
        try await log.ensureTopics(TopicSpec.spine(partitions: partitions))
        let signer = CheckpointSigner(privateKey: .init())
        let authenticator = CommandAuthenticator.ephemeral()
        let snapshots = SnapshotStore(database: bench.database)
        try await snapshots.prepare()
        if history > 0 {
            let built = try await BenchHistory.build(log: log, events: history, partitions: partitions, signer: signer, authenticator: authenticator,
                                                     snapshots: snapshots, logger: logger)
            print(String(format: "history: %d events in %d partitions, built through the processor in %.1f s", history, partitions, built.seconds))
        }

        let runtime = try await WharfRuntime(store: WharfStore.attach(database: bench.database, log: log), partitions: partitions,
                                             registry: PrometheusCollectorRegistry(), logger: logger, signer: signer,
                                             commandAuthenticator: authenticator, trace: trace ? WriteTrace() : nil)
        let clock = ContinuousClock()
        let started = clock.now
        runtime.start()
        // The first admin is made once the consumers are through the history: with 1,000,000 events the projector
        // could not project the token within the bootstrap's 60 s while it still worked through them.
        try await Self.waitUntilCaughtUp(runtime: runtime, log: log)
        let token = TokenStore.generateToken()
        _ = try await runtime.bootstrap(token: token)
        let server = await LoopbackServer.start(runtime, logger: logger)
        let base = server.base
        try await Self.waitUntilCaughtUp(runtime: runtime, log: log)
        print(String(format: "server ready (started, history folded from snapshots, projections caught up) in %.1f s", (clock.now - started).seconds))

        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = counts.max()!
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            for n in counts {
                let names = (0..<n).map { "http-\(n)-\($0)" }
                for name in names {
                    let created = try await Self.post(http, base + "/v1/services", token: token,
                                                      body: #"{"name":"\#(name)","businessLine":"bench","image":"registry.local/b/\#(name):1","replicas":1}"#)
                    guard (200..<300).contains(created) else { throw ValidationError("creating \(name) answered HTTP \(created)") }
                }
                _ = runtime.gateway.trace?.drain()  // not the creates
                _ = runtime.gateway.drainAppendCounts()
                let (ownBefore, allBefore) = (BenchSpineCommand.processCPUSeconds(), BenchSpineCommand.machineCPUSeconds())
                let deadline = clock.now + .seconds(seconds)
                let results = try await withThrowingTaskGroup(of: (latencies: [Double], errors: Int).self) { group in
                    for name in names {
                        group.addTask {
                            var latencies: [Double] = [], errors = 0, i = 0
                            while clock.now < deadline {
                                let begin = clock.now
                                let status = try await Self.post(http, base + "/v1/services/\(name)/scale", token: token, body: #"{"replicas":\#(2 + i % 2)}"#)
                                latencies.append((clock.now - begin).milliseconds)
                                if !(200..<300).contains(status) { errors += 1 }
                                i += 1
                            }
                            return (latencies, errors)
                        }
                    }
                    return try await group.reduce(into: [(latencies: [Double], errors: Int)]()) { $0.append($1) }
                }
                let latencies = results.flatMap(\.latencies).sorted()
                let errors = results.reduce(0) { $0 + $1.errors }
                func pct(_ q: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))] }
                print(String(format: "%3d clients: %8.0f writes/s   p50 %6.2f ms   p99 %6.2f ms   (%d writes in %d s%@)", n,
                             Double(latencies.count) / Double(seconds), pct(0.5), pct(0.99), latencies.count, seconds,
                             errors == 0 ? "" : ", \(errors) not 2xx"))
                let own = BenchSpineCommand.processCPUSeconds() - ownBefore, all = BenchSpineCommand.machineCPUSeconds() - allBefore
                print(String(format: "       CPU: wharf %.1f ms per write, everything else (Postgres) %.1f ms; machine %.0f %% busy of %d cores",
                             own * 1000 / Double(max(1, latencies.count)), max(0, all - own) * 1000 / Double(max(1, latencies.count)),
                             all / Double(seconds) / Double(ProcessInfo.processInfo.activeProcessorCount) * 100, ProcessInfo.processInfo.activeProcessorCount))
                let shared = runtime.gateway.drainAppendCounts()
                print(String(format: "       group commit: %d command appends for %d commands (%.2f per commit)", shared.appends, shared.records,
                             Double(shared.records) / Double(max(1, shared.appends))))
                if let stages = runtime.gateway.trace?.drain() {
                    for s in stages {
                        print(String(format: "       %-12@ p50 %6.2f ms   p99 %6.2f ms   (%d)", s.stage, s.p50, s.p99, s.count))
                    }
                }
                fflush(stdout)
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        server.task.cancel()
        await runtime.stop()
        log.close()
        try await bench.drop()
    }

    /// A POST with the token; returns the HTTP status (the body is read and dropped).
    static func post(_ http: HTTPClient, _ url: String, token: String, body: String) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    /// Every consumer of the runtime (processor, projector, tracker, workers) owns its partitions and has reached their
    /// end, twice in a row a second apart: a worker still working through the history would otherwise share the CPU
    /// with the clients (one that is restarting shows as not owned).
    static func waitUntilCaughtUp(runtime: WharfRuntime, log: any EventLog) async throws {
        var passes = 0
        while passes < 2 {
            try await Task.sleep(for: .seconds(1))
            let entries = runtime.health.snapshot
            var behind = entries.isEmpty
            for (key, entry) in entries where !behind {
                let end = try await log.endOffset(topic: entry.topic, partition: key.partition)
                if !entry.owned || entry.next < end { behind = true }
            }
            passes = behind ? 0 : passes + 1
        }
    }
}
