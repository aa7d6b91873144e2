import ArgumentParser
import Commands
import EventLog
import Events
import Foundation
import Logging
import Projections

/// `wharf bench instances`: how fast what runs is ingested. The cluster workers' reports (`RecordServiceInstances`,
/// authenticated as the workers write them) go through the real command processor (checkpoints signed) and
/// projector into the `instances`, `services` and `placements` read models, on the embedded Postgres log.
struct BenchInstancesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instances",
        abstract: "Measure pod updates ingested into the log and projections per second (cluster workers' reports).",
        discussion: """
        Creates --services services with a port and a placement over three clusters, each divided and reported \
        ready once (the warm-up, not timed), then --rounds rounds in which every service's pods in every cluster change \
        (a restart and a new pod IP: new members, so the decider also sets the service's addresses). Timed: from the \
        first report appended until the projections have applied every resulting event. A pod update is one pod of one \
        report. Left out: the Kubernetes API side (polling the clusters), which the simulated API cannot time fairly.

        Runs on a scratch database created beside WHARF_DATABASE_URL (or in the private Postgres under WHARF_DATA_DIR) \
        and dropped afterwards. Build with `swift build -c release` for meaningful figures.
        """)

    @Option(help: "Services (each placed on three clusters).") var services = 2_000
    @Option(help: "Pods per service and cluster.") var pods = 2
    @Option(help: "Timed rounds (every pod of every service changes in each).") var rounds = 3
    @Option(help: "Partitions per topic.") var partitions = 12

    static let clusters = ["a", "b", "c"]

    func validate() throws {
        guard services >= 1 else { throw ValidationError("--services must be at least 1") }
        guard pods >= 1, pods <= 300 else { throw ValidationError("--pods must be 1-300") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard (1...64).contains(partitions) else { throw ValidationError("--partitions must be 1-64") }
    }

    func run() async throws {
        var logger = makeLogger("wharf-bench")
        logger.logLevel = .warning
        let bench = try await BenchDatabase.open(prefix: "wharf_bench_instances", logger: logger)
        let database = bench.database
        let log = try await PostgresEventLog.open(database: database)
        try await log.ensureTopics(TopicSpec.spine(partitions: partitions))
        try await Projector.prepare(database: database)
        let authenticator = CommandAuthenticator.ephemeral()
        let processor = Task {
            try await CommandProcessor.consumer(log: log, partitions: partitions, logger: logger, batchSize: 1000,
                                                signer: CheckpointSigner(privateKey: .init()), authenticator: authenticator).run()
        }
        let projector = Task { try await Projector.consumer(log: log, database: database, logger: logger).run() }
        defer { processor.cancel(); projector.cancel() }
        print("event log: Postgres, \(partitions) partitions; \(services) services x \(Self.clusters.count) clusters x \(pods) pods")

        // Warm-up: services, placements, divisions (2:2:2 style) and a first ready report per cluster.
        var sequence = 0
        func append(_ commands: [Command], actor: String) async throws {
            var byPartition: [Int: [OutgoingRecord]] = [:]
            let time = WharfTime.format(Date())
            for command in commands {
                sequence += 1
                let envelope = CommandEnvelope(id: "bench-\(sequence)", actor: actor, time: time, correlationId: "bench", command: command)
                byPartition[Partitioner.partition(for: envelope.aggregate, partitions: partitions), default: []].append(try authenticator.record(envelope))
            }
            for (p, records) in byPartition {
                for start in stride(from: 0, to: records.count, by: 500) {
                    try await log.append(topic: Topics.commands, partition: p, records: Array(records[start..<min(start + 500, records.count)]))
                }
            }
        }
        let names = (0..<services).map { "svc-\($0)" }
        let placement = ServicePlacement(clusters: Self.clusters, division: .staticWeight)
        let inputs = Self.clusters.map { PlacementInput(cluster: $0, state: "active", weight: 1, previous: 0) }
        let replicas = pods * Self.clusters.count
        let result = try PlacementDivider.divide(replicas, placement: placement, inputs: inputs)
        try await append(names.map { Command(CreateService(name: $0, businessLine: "bench", image: "registry.local/bench/app:1", replicas: replicas,
                                                           ports: [ServicePort(containerPort: 8080)])) }, actor: "user:bench")
        try await append(names.map { Command(SetServicePlacement(name: $0, placement: placement)) }, actor: "user:bench")
        try await append(names.map { Command(RecordPlacementDecision(name: $0, placementRevision: 1, replicas: replicas, inputs: inputs, result: result)) },
                         actor: "system:placement")
        try await append(reports(round: 0, names: names), actor: "system:cluster")
        try await caughtUp(log: log, database: database)

        let clock = ContinuousClock()
        var updates = 0
        let eventsBefore = try await eventCount(log)
        let start = clock.now
        for round in 1...rounds {
            let batch = reports(round: round, names: names)
            updates += batch.count * pods
            try await append(batch, actor: "system:cluster")
        }
        let appended = clock.now - start
        // Every report changes the pods (ServiceInstancesObserved) and the live members (ServiceAddressesSet).
        let expected = eventsBefore + Int64(updates / pods * 2)
        while try await eventCount(log) < expected { try await Task.sleep(for: .milliseconds(10)) }
        let decided = clock.now - start
        try await caughtUp(log: log, database: database, events: expected)
        let total = clock.now - start
        let events = try await eventCount(log) - eventsBefore
        print(String(format: "reports appended:                       %8.0f pod updates/s (%d reports, %d pods, in %.2f s)",
                     Double(updates) / appended.seconds, updates / pods, updates, appended.seconds))
        print(String(format: "decided and events appended:            %8.0f pod updates/s (%.2f s, signed checkpoints)", Double(updates) / decided.seconds, decided.seconds))
        print(String(format: "decided, events appended and projected: %8.0f pod updates/s (%.2f s; %d events: instances observed, addresses set)",
                     Double(updates) / total.seconds, total.seconds, events))
        let rows = try await ReadModelQueries(database: database).instanceHistoryJSON(service: "svc-0", limit: 1000)
        let items = ((try? JSONSerialization.jsonObject(with: Data(rows.utf8))) as? [String: Any])?["items"] as? [[String: Any]] ?? []
        print("check: svc-0 has \(items.filter { $0["goneAt"] == nil }.count) pods running and \(items.count) in its history (expected \(replicas) and \(replicas * (rounds + 1)))")
        processor.cancel(); projector.cancel()
        _ = await processor.result; _ = await projector.result
        log.close()
        try await bench.drop()
    }

    /// One report per service and cluster; every round, new pod names and IPs (a rollout's worth of change).
    private func reports(round: Int, names: [String]) -> [Command] {
        var out: [Command] = []
        for (s, name) in names.enumerated() {
            for (c, cluster) in Self.clusters.enumerated() {
                let instances = (0..<pods).map { i in
                    let host = s * pods + i
                    return ServiceInstance(pod: "\(name)-r\(round)-\(i)", ip: "10.\(c * 64 + round % 64).\(host / 250 % 250).\(host % 250 + 2)",
                                           node: "node-\(i % 3)", phase: "Running", ready: true, restarts: 0, startedAt: "2026-12-06T00:00:00Z")
                }
                out.append(Command(RecordServiceInstances(name: name, cluster: cluster, instances: instances)))
            }
        }
        return out
    }

    private func eventCount(_ log: PostgresEventLog) async throws -> Int64 {
        try await log.endOffsets(topic: Topics.events).reduce(0, +)
    }

    /// Until the log holds at least `events` events (nil: until it stops growing for a second) and the projections
    /// have applied them all.
    private func caughtUp(log: PostgresEventLog, database: Database, events: Int64? = nil) async throws {
        let queries = ReadModelQueries(database: database)
        var last: Int64 = -1, still = ContinuousClock.now
        while true {
            try await Task.sleep(for: .milliseconds(10))
            let ends = try await log.endOffsets(topic: Topics.events)
            let total = ends.reduce(0, +)
            if total != last { last = total; still = ContinuousClock.now }
            let enough = events.map { total >= $0 } ?? (ContinuousClock.now - still > .seconds(1))
            guard enough else { continue }
            let progress = try await queries.progress()
            if ends.enumerated().allSatisfy({ (progress[$0.offset] ?? 0) >= $0.element }) { return }
        }
    }
}
