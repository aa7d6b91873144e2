import ArgumentParser
import Commands
import EventLog
import Events
import Foundation
import Logging
import Server

struct BenchTakeoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "takeover",
        abstract: "Measure a partition takeover: from claim to the first decision, with and without snapshots.",
        discussion: """
        Builds one partition of --events events (creates of --services services, then scales) through the real
        command processor on the Postgres log, with production settings: a signed checkpoint every 1,000 events and
        a snapshot every WHARF_SNAPSHOT_EVERY (10,000) events. Then a fresh process takes the partition over twice:
        from the newest snapshot (folding only the tail) and from offset zero (no snapshots). Each is timed from
        the start of the take-over (snapshot load, tail fold, checkpoint scan) to the first new command decided
        and appended, and reports its resident memory after the fold. Runs on a scratch database beside
        WHARF_DATABASE_URL (or the private Postgres under WHARF_DATA_DIR), dropped afterwards.

        Build with `swift build -c release` for meaningful figures.
        """)

    @Option(help: "Events in the partition.") var events = 100_000
    @Option(help: "Distinct services the commands address.") var services = 10_000

    func run() async throws {
        var logger = makeLogger("wharf-bench")
        logger.logLevel = .warning
        let bench = try await BenchDatabase.open(prefix: "wharf_takeover", logger: logger)
        let database = bench.database
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: 1))
        let store = SnapshotStore(database: database)
        try await store.prepare()
        let settings = try WharfSettings.fromEnvironment()
        let policy = CommandPartitionProcessor.SnapshotPolicy(store: store, everyEvents: Int64(settings.snapshotEvery))
        let signer = CheckpointSigner(privateKey: .init())

        // Build the history in batches, as the live processor does.
        let clock = ContinuousClock()
        let time = WharfTime.format(Date())
        let builder = CommandPartitionProcessor(log: log, partition: 0, partitions: 1, logger: logger, signer: signer, snapshots: policy)
        var next = try await builder.start()
        let buildTime = try await clock.measure {
            for start in stride(from: 0, to: events, by: 5000) {
                let records = try (start..<min(start + 5000, events)).map { i -> OutgoingRecord in
                    let command = i < services
                        ? Command(CreateService(name: "svc-\(i)", businessLine: "bench", image: "registry.local/bench/app:1", replicas: 1))
                        : Command(ScaleService(name: "svc-\(i % services)", replicas: 2 + i / services))
                    return OutgoingRecord(key: command.aggregate, value: try CanonicalJSON.encode(
                        CommandEnvelope(id: "bench-\(i)", actor: "user:bench", time: time, correlationId: "bench", command: command)))
                }
                try await log.append(topic: Topics.commands, partition: 0, records: records)
                while true {
                    let batch = try await log.read(topic: Topics.commands, partition: 0, from: next, limit: 1000)
                    guard let last = batch.last else { break }
                    try await builder.handle(batch)
                    next = last.offset + 1
                }
            }
            try await builder.idle()
        }
        let appended = try await log.endOffset(topic: Topics.events, partition: 0)
        print(String(format: "history: %d events in one partition, %d services, decided at %.0f /s (signing every 1000, snapshots every %d)",
                     appended, services, Double(appended) / buildTime.seconds, settings.snapshotEvery))
        // The last snapshot is written off the append path; wait for it.
        let deadline = clock.now + .seconds(120)
        while clock.now < deadline, (try await store.load(partition: 0).first?.eventsNext ?? 0) < appended - Int64(settings.snapshotEvery) {
            try await Task.sleep(for: .milliseconds(100))
        }
        log.close()

        for snapshots in [true, false] {
            let probe = try ChildProcess.run([ProcessInfo.processInfo.arguments[0], "bench", "takeover-probe",
                                              "--database-url", bench.url, "--snapshots", snapshots ? "on" : "off"])
            guard probe.status == 0 else { print("takeover probe failed: \(probe.output)"); throw ExitCode.failure }
            print(probe.output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try await bench.drop()
    }
}

/// The measuring half of `bench takeover`, in a process of its own so that its memory is only the take-over's.
struct BenchTakeoverProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "takeover-probe", abstract: "Used by `wharf bench takeover`.",
                                                    shouldDisplay: false)

    @Option var databaseURL: String
    @Option var snapshots: String

    func run() async throws {
        var logger = makeLogger("wharf-bench")
        logger.logLevel = .warning
        let database = try await Database.open(try DatabaseSettings(url: databaseURL), logger: logger)
        let log = try await PostgresEventLog.open(database: database)
        let store = SnapshotStore(database: database)
        let useSnapshots = snapshots == "on"
        let signer = CheckpointSigner(privateKey: .init())
        let clock = ContinuousClock()
        let began = clock.now
        let processor = CommandPartitionProcessor(log: log, partition: 0, partitions: 1, logger: logger, signer: signer,
                                                  snapshots: useSnapshots ? .init(store: store) : nil)
        let next = try await processor.start()
        let ready = clock.now
        let rss = Self.residentMegabytes()
        let command = Command(ScaleService(name: "svc-0", replicas: 999_999))
        try await log.append(topic: Topics.commands, partition: 0, records: [OutgoingRecord(key: command.aggregate, value: try CanonicalJSON.encode(
            CommandEnvelope(id: "probe-\(UUID().uuidString)", actor: "user:bench", time: WharfTime.format(Date()), correlationId: "probe",
                            command: command)))])
        try await processor.handle(try await log.read(topic: Topics.commands, partition: 0, from: next, limit: 1))
        try await processor.idle()
        let decided = clock.now
        let start = processor.lastStart
        print(String(format: "takeover %@: claim to first decision %.3f s (start %.3f s: %@%d events folded, %d aggregates); RSS after the fold %.0f MB",
                     useSnapshots ? "from the newest snapshot" : "from offset zero   ", (decided - began).seconds, (ready - began).seconds,
                     start.snapshotAt.map { "snapshot at \($0), " } ?? "", start.folded, processor.states.count, rss))
        log.close()
        await database.close()
    }

    static func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }
}

/// A scratch database beside WHARF_DATABASE_URL (or in the private Postgres under WHARF_DATA_DIR) for a benchmark.
struct BenchDatabase {
    let database: Database
    /// The scratch database's settings, and those of the server it lives on.
    let settings: DatabaseSettings
    let base: DatabaseSettings
    let url: String
    let embedded: EmbeddedPostgres?
    let logger: Logger

    static func open(prefix: String, logger: Logger) async throws -> BenchDatabase {
        let settings = try WharfSettings.fromEnvironment()
        var embedded: EmbeddedPostgres?
        let base: DatabaseSettings
        if let url = settings.databaseURL {
            base = try DatabaseSettings(url: url)
        } else {
            let pg = try EmbeddedPostgres(dataDirectory: settings.dataDirectory)
            // Stopped again by `drop` only if this bench started it (a running `wharf serve` may be using it).
            if try pg.start() { embedded = pg }
            base = pg.settings
        }
        let scratch = try await Database.createScratch(base: base, prefix: prefix, logger: logger)
        return BenchDatabase(database: try await Database.open(scratch, logger: logger), settings: scratch, base: base, url: scratch.url,
                             embedded: embedded, logger: logger)
    }

    /// Drops the scratch database, and stops the private Postgres if this bench started it.
    func drop() async throws {
        await database.close()
        try await Database.dropScratch(settings, logger: logger)
        embedded?.stop()
    }
}
