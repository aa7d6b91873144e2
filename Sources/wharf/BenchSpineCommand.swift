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
import Projections
import Server

struct BenchSpineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spine",
        abstract: "Measure the spine: commands decided per second, projection replay rate, HTTP round trip.",
        discussion: """
        Runs on a scratch database created beside WHARF_DATABASE_URL (or in the private Postgres under WHARF_DATA_DIR) and dropped afterwards.

        With WHARF_EVENT_LOG=kafka://host:port the log is on that Kafka (topics under a fresh `bench-*` prefix, left behind), and the raw produce rate of our librdkafka wrapper is measured first, with the same records, for comparison.

        Build with `swift build -c release` for meaningful figures.
        """)

    @Option(help: "Commands to decide.") var commands = 20_000
    @Option(help: "Distinct services the commands address.") var services = 1_000
    @Option(help: "Sequential HTTP writes to time.") var httpRequests = 1_000
    @Option(help: "Partitions per topic.") var partitions = 12
    @Option(help: "Partitions replayed at once.") var replayConcurrency = 12

    func run() async throws {
        var logger = makeLogger("wharf-bench")
        logger.logLevel = .warning
        let settings = try WharfSettings.fromEnvironment()
        let bench = try await BenchDatabase.open(prefix: "wharf_bench", logger: logger)
        let (database, scratch, base) = (bench.database, bench.settings, bench.base)
        let (log, closeLog) = try await BenchLog.open(settings: settings, database: database, logger: logger)
        try await log.ensureTopics(TopicSpec.spine(partitions: partitions))
        print("event log: \(settings.kafkaBrokers.map { "Kafka at \($0) (librdkafka \(KafkaEventLog.librdkafkaVersion))" } ?? "Postgres"), \(partitions) partitions")
        let decided = EventCounter()
        log.onLocalAppend { append in if append.topic == Topics.events { decided.add(append.records.count) } }

        // 1. Commands: append a backlog (batched), then let the processor decide it.
        let backlog = makeCommands()
        // As in production: records authenticated by the appender, checked by the processor, checkpoints signed.
        let authenticator = CommandAuthenticator.ephemeral()
        let signer = CheckpointSigner(privateKey: .init())
        var byPartition: [Int: [OutgoingRecord]] = [:]
        for envelope in backlog {
            byPartition[Partitioner.partition(for: envelope.aggregate, partitions: partitions), default: []]
                .append(try authenticator.record(envelope))
        }
        let clock = ContinuousClock()
        if let kafka = log as? KafkaEventLog {
            let (count, seconds) = try await rawProduce(kafka, byPartition)
            print(String(format: "raw produce through our wrapper:          %8.0f /s   (%d in %.2f s, acks=all, idempotent)", Double(count) / seconds, count, seconds))
        }
        let appendTime = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (p, records) in byPartition {
                    group.addTask {
                        for start in stride(from: 0, to: records.count, by: 500) {
                            try await log.append(topic: Topics.commands, partition: p, records: Array(records[start..<min(start + 500, records.count)]))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let processor = CommandProcessor.consumer(log: log, partitions: partitions, logger: logger, batchSize: 1000, signer: signer,
                                                  authenticator: authenticator)
        let (decideOwnBefore, decideAllBefore) = (Self.processCPUSeconds(), Self.machineCPUSeconds())
        let decideStart = clock.now
        let processorTask = Task { try await processor.run() }
        // Every command yields one event here (creates and scales of existing services).
        while decided.count < backlog.count { try await Task.sleep(for: .milliseconds(5)) }
        let decideTime = clock.now - decideStart
        processorTask.cancel()
        print(String(format: "commands appended (batched, 500/append):  %8.0f /s   (%d in %.2f s)", Double(backlog.count) / appendTime.seconds, backlog.count, appendTime.seconds))
        print(String(format: "commands decided + events appended:       %8.0f /s   (%d in %.2f s)", Double(backlog.count) / decideTime.seconds, backlog.count, decideTime.seconds))
        let decideOwn = Self.processCPUSeconds() - decideOwnBefore, decideAll = Self.machineCPUSeconds() - decideAllBefore
        print(String(format: "  CPU while deciding: wharf %.2f s, everything else (log store) %.2f s, of %.2f s x %d cores",
                     decideOwn, max(0, decideAll - decideOwn), decideTime.seconds, ProcessInfo.processInfo.activeProcessorCount))
        fflush(stdout)

        // 2. Projection replay from offset zero into a fresh schema, partitions in parallel.
        // As `projections rebuild` does: tables first, the indexes after the bulk load (timed with it).
        try await database.execute(statements: ReadModelSchema.statements(schema: "bench_read", indexes: false))
        let rebuild = ProjectionRebuild(log: log, database: database)
        var replayed: Int64 = 0
        var indexTime = Duration.zero
        let (ownBefore, allBefore) = (Self.processCPUSeconds(), Self.machineCPUSeconds())
        let replayTime = try await clock.measure {
            replayed = try await rebuild.replayAll(into: "bench_read", partitions: partitions, concurrency: replayConcurrency)
            indexTime = try await clock.measure {
                try await database.executeConcurrently(statements: ReadModelSchema.indexStatements(schema: "bench_read"))
            }
        }

        print(String(format: "projection replay (indexes built after):  %8.0f events/s   (%d in %.2f s, of which %.2f s index builds)",
                     Double(replayed) / replayTime.seconds, replayed, replayTime.seconds, indexTime.seconds))
        let own = Self.processCPUSeconds() - ownBefore, all = Self.machineCPUSeconds() - allBefore
        print(String(format: "  CPU during replay: wharf %.2f s, everything else (Postgres) %.2f s, of %.2f s x %d cores",
                     own, max(0, all - own), replayTime.seconds, ProcessInfo.processInfo.activeProcessorCount))
        fflush(stdout)

        // Where replay time goes: decoding alone, on one core.
        var values: [String] = []
        for p in 0..<partitions {
            var at: Int64 = 0
            while true {
                let batch = try await log.read(topic: Topics.events, partition: p, from: at, limit: 5000)
                guard let last = batch.last else { break }
                values.append(contentsOf: batch.map(\.value))
                at = last.offset + 1
            }
        }
        let decodeTime = try clock.measure { for v in values { _ = try CanonicalJSON.decode(EventEnvelope.self, from: v) } }
        let fastTime = try clock.measure { for v in values { _ = try EventEnvelope.decodeStored(v) } }
        print(String(format: "  event decoding alone, 1 core:             %8.0f events/s (Codable: %.0f events/s)",
                     Double(values.count) / fastTime.seconds, Double(values.count) / decodeTime.seconds))

        closeLog()
        await database.close()
        try await Database.dropScratch(scratch, logger: logger)

        // 3. HTTP round trips on loopback through the whole path (auth, append, decide, answer), on a fresh
        // database so that no backlog competes for the cores.
        let httpScratch = try await Database.createScratch(base: base, prefix: "wharf_bench_http", logger: logger)
        let httpDatabase = try await Database.open(httpScratch, logger: logger)
        let (httpLog, closeHTTPLog) = try await BenchLog.open(settings: settings, database: httpDatabase, logger: logger)
        try await httpLog.ensureTopics(TopicSpec.spine(partitions: partitions))
        let http = try await httpRoundTrips(database: httpDatabase, log: httpLog, logger: logger)

        print(String(format: "HTTP write round trip (sequential, %d):   p50 %.2f ms   p99 %.2f ms   max %.2f ms", http.count, http.p50, http.p99, http.max))
        closeHTTPLog()
        await httpDatabase.close()
        try await Database.dropScratch(httpScratch, logger: logger)
    }

    private func makeCommands() -> [CommandEnvelope] {
        var out: [CommandEnvelope] = []
        let time = WharfTime.format(Date())
        for i in 0..<min(services, commands) {
            out.append(CommandEnvelope(id: "bench-\(i)", actor: "user:bench", time: time, correlationId: "bench",
                                       command: Command(CreateService(name: "svc-\(i)", businessLine: "bench",
                                                                             image: "registry.local/bench/app:1", replicas: 1))))
        }
        var i = out.count
        while out.count < commands {
            let s = i % services
            out.append(CommandEnvelope(id: "bench-\(i)", actor: "user:bench", time: time, correlationId: "bench",
                                       command: Command(ScaleService(name: "svc-\(s)", replicas: 2 + i / services))))
            i += 1
        }
        return out
    }

    /// User + system CPU time of this process.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// Busy CPU time of the whole machine (user + nice + system + irq + softirq), from /proc/stat.
    static func machineCPUSeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = text.split(separator: "\n").first else { return 0 }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 7 else { return 0 }
        return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The same records produced straight through our producer (acks=all, idempotent), to a topic of their own.
    private func rawProduce(_ kafka: KafkaEventLog, _ byPartition: [Int: [OutgoingRecord]]) async throws -> (Int, Double) {
        try await kafka.ensureTopics([TopicSpec(name: "raw", partitions: partitions, chained: false)])
        let producer = try KafkaProducer(brokers: kafka.brokers)
        defer { producer.close() }
        let topic = kafka.topicPrefix + "raw"
        // Warm up: connections, metadata and producer ids, which the log's own producer already has when measured.
        for p in byPartition.keys { _ = try await producer.send(topic: topic, partition: p, records: [OutgoingRecord(key: "warm-up", value: "{}")]) }
        var count = 0
        let time = try await ContinuousClock().measure {
            count = try await withThrowingTaskGroup(of: Int.self) { group in
                for (p, records) in byPartition {
                    group.addTask {
                        for start in stride(from: 0, to: records.count, by: 500) {
                            _ = try await producer.send(topic: topic, partition: p, records: Array(records[start..<min(start + 500, records.count)]))
                        }
                        return records.count
                    }
                }
                return try await group.reduce(0, +)
            }
        }
        return (count, time.seconds)
    }

    private func httpRoundTrips(database: Database, log: any EventLog, logger: Logger) async throws -> (count: Int, p50: Double, p99: Double, max: Double) {
        let runtime = try await WharfRuntime(store: WharfStore.attach(database: database, log: log), partitions: partitions,
                                             registry: PrometheusCollectorRegistry(), logger: logger)
        runtime.start()
        let token = TokenStore.generateToken()
        _ = try await runtime.bootstrap(token: token)
        let server = await LoopbackServer.start(runtime, logger: logger)
        let client = APIClient(baseURL: server.base, token: token)
        _ = try await client.call(.POST, "/v1/services", body: ["name": "bench-http", "businessLine": "bench", "image": "registry.local/b/a:1", "replicas": 1])
        var latencies: [Double] = []
        let clock = ContinuousClock()
        for i in 0..<httpRequests {
            let elapsed = try await clock.measure {
                _ = try await client.call(.POST, "/v1/services/bench-http/scale", body: ["replicas": 2 + i % 2])
            }
            latencies.append(elapsed.seconds * 1000)
        }
        server.task.cancel()
        await runtime.stop()
        latencies.sort()
        func pct(_ q: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))] }
        return (latencies.count, pct(0.50), pct(0.99), latencies.last ?? 0)
    }
}

/// Events appended by this process's processor, counted as they commit.
final class EventCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) { lock.withLock { total += n } }
    var count: Int { lock.withLock { total } }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1000 }
}
