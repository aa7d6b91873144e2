import ArgumentParser
import Commands
import EventLog
import Events
import Foundation
import Logging

struct BenchVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Measure `audit verify` over a history of --events events on the Postgres log.",
        discussion: """
        Builds the history through the real command processor (commands authenticated, checkpoints signed every
        1,000 events or 10 s, as in production) on a scratch database beside WHARF_DATABASE_URL (or the private
        Postgres under WHARF_DATA_DIR), then times ChainVerifier over every partition: reading every record with its
        hashes, recomputing each hash, checking each key against its envelope and each checkpoint's signature, --runs
        times, then once more over events and commands as `audit verify` does. The scratch database is dropped afterwards. Build with `swift build -c release` for meaningful figures.
        """)

    @Option(help: "Events in the history.") var events = 1_000_000
    @Option(help: "Partitions.") var partitions = 12
    @Option(help: "Times to verify the same history; each run is printed, then the median.") var runs = 3

    func run() async throws {
        var logger = makeLogger("wharf-bench")
        logger.logLevel = .warning
        let bench = try await BenchDatabase.open(prefix: "wharf_verify", logger: logger)
        let log = try await PostgresEventLog.open(database: bench.database)
        try await log.ensureTopics(TopicSpec.spine(partitions: partitions))
        let signer = CheckpointSigner(privateKey: .init())
        let authenticator = CommandAuthenticator.ephemeral()
        let clock = ContinuousClock()
        let buildTime = try await BenchHistory.build(log: log, events: events, partitions: partitions, signer: signer,
                                                     authenticator: authenticator, logger: logger)
        print(String(format: "history: %d events in %d partitions, built through the processor in %.1f s", events, partitions, buildTime.seconds))

        var trusted = TrustedKeys()
        trusted.keys[signer.keyId] = signer.privateKey.publicKey
        var rates: [Double] = []
        for run in 1...max(1, runs) {
            var report = ChainVerifier.Report()
            let verifyTime = try await clock.measure {
                report = try await ChainVerifier(log: log, trusted: trusted, maxCheckpointGap: 2000, maxUncoveredAge: 60).verify(topic: Topics.events)
            }
            guard report.ok else { throw ValidationError("the history did not verify: \(report.breaks)") }
            guard report.checkpointsChecked > 0 else { throw ValidationError("no checkpoint was checked") }
            rates.append(Double(report.recordsChecked) / verifyTime.seconds)
            print(String(format: "audit verify run %d: %d events, %d checkpoints checked, in %.2f s: %.0f events/s",
                         run, report.recordsChecked, report.checkpointsChecked, verifyTime.seconds, rates.last!))
        }
        print(String(format: "audit verify median: %.0f events/s (goal 500,000)", rates.sorted()[rates.count / 2]))
        // What `audit verify` does: the commands topic too (chained and signed by the processor, no stored hashes).
        var spine = ChainVerifier.Report()
        let spineTime = try await clock.measure {
            spine = try await ChainVerifier(log: log, trusted: trusted, maxCheckpointGap: 2000, maxUncoveredAge: 60).verifySpine()
        }
        guard spine.ok else { throw ValidationError("the spine did not verify: \(spine.breaks)") }
        print(String(format: "audit verify of events and commands: %d records, %d checkpoints checked, in %.2f s: %.0f records/s",
                     spine.recordsChecked, spine.checkpointsChecked, spineTime.seconds, Double(spine.recordsChecked) / spineTime.seconds))
        log.close()
        try await bench.drop()
    }
}
