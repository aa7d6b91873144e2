import ArgumentParser
import Commands
import EventLog
import Events
import Foundation
import Server

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Prove the log was not altered, replay history, list intents.",
        subcommands: [Verify.self, Witness.self, Replay.self, List.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove the events and commands in the log store were not altered.",
            discussion: """
            Reads the log store directly (WHARF_DATABASE_URL, or the private Postgres under WHARF_DATA_DIR), not through
            the API under audit. Recomputes SHA-256(prevHash || record) for every record of every partition of the events
            and the commands topics (commands are chained by the command processor as it reads them, and vouched for by
            its checkpoints), checks that each event's key is the aggregate its hashed envelope names, and checks every
            signed checkpoint: signed by a
            trusted key, for the partition it sits in, over the recomputed hash, none missing (at most
            --max-checkpoint-gap records apart, and no uncovered tail older than --max-uncovered-age). With --witness,
            every checkpoint a witness kept (`wharf audit witness export`) must still be on the chain, so truncation and
            rollback are caught. Fails closed: trusted keys are required, and any error reading the store is an error.
            Exits 0 when everything verifies; otherwise names the partition and offset of each break and exits 2.
            """)

        @Option(help: "File of trusted checkpoint public keys, one base64 Ed25519 key per line (env WHARF_TRUSTED_KEYS). Required: use the .pub file the operator handed over, not one beside the private key.")
        var trustedKeys: String?

        @Option(help: "Checkpoint file kept by a witness (from `wharf audit witness export`).")
        var witness: String?

        @Option(help: "Most records allowed between two checkpoints before checkpoints count as removed (0: do not check).")
        var maxCheckpointGap: Int64 = 2000

        @Option(help: "Seconds after which a record must be covered by a checkpoint (the writer signs within 10 s; 0: do not check).")
        var maxUncoveredAge: Int = 60

        @Flag(help: "Print the report as JSON.")
        var json = false

        func run() async throws {
            let settings = try WharfSettings.fromEnvironment()
            guard let keyFile = trustedKeys ?? ProcessInfo.processInfo.environment["WHARF_TRUSTED_KEYS"].flatMap({ $0.isEmpty ? nil : $0 }) else {
                throw ValidationError("""
                    no trusted keys: pass --trusted-keys FILE (or set WHARF_TRUSTED_KEYS). Take the public key from a copy \
                    handed over when the installation was set up (\(settings.signingKeyFile).pub), not from beside the private key
                    """)
            }
            guard FileManager.default.fileExists(atPath: keyFile) else { throw ValidationError("--trusted-keys: \(keyFile) does not exist") }
            let trusted = try TrustedKeys(file: keyFile)
            guard !trusted.keys.isEmpty else { throw ValidationError("--trusted-keys: \(keyFile) holds no key") }
            var witnessed: [Checkpoint] = []
            if let witness {
                guard let data = FileManager.default.contents(atPath: witness) else { throw ValidationError("--witness: cannot read \(witness)") }
                witnessed = try JSONDecoder().decode(WitnessFile.self, from: data).checkpoints
            }
            let store = try await WharfStore.open(settings, logger: makeLogger("wharf-audit"), listen: false, createTopics: false)
            let report: ChainVerifier.Report
            do {
                report = try await ChainVerifier(log: store.log, trusted: trusted, maxCheckpointGap: maxCheckpointGap > 0 ? maxCheckpointGap : nil,
                                                 maxUncoveredAge: maxUncoveredAge > 0 ? TimeInterval(maxUncoveredAge) : nil, witnessed: witnessed)
                    .verifySpine()
            } catch {
                await store.close()
                throw error
            }
            await store.close()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(VerifyReport(report, witness: witness)), as: UTF8.self))
            } else {
                print(TableOutput.render(["TOPIC", "PARTITION", "RECORDS", "CHECKPOINTS", "WITNESSED", "NEWEST CHECKPOINT", "AGE", "TAIL"], report.partitions.map { p in
                    let age = p.newestCheckpointTime.flatMap(WharfTime.parse).map { "\(Int(Date().timeIntervalSince($0))) s" } ?? "-"
                    return [p.topic, String(p.partition), String(p.records), String(p.checkpointsChecked), String(p.witnessedChecked),
                            p.newestCheckpointOffset.map(String.init) ?? "-", age, p.tailCovered ? "covered" : "not yet covered"]
                }))
            }
            if report.ok {
                if !json {
                    print("verified: \(report.recordsChecked) records in \(report.partitionsChecked) partitions of \(Topics.events) and \(Topics.commands); every chain is intact; "
                          + "\(report.checkpointsChecked) signed checkpoints checked" + (witness == nil ? "" : ", \(report.witnessedChecked) witnessed"))
                }
                return
            }
            if !json {
                for b in report.breaks { print("TAMPERED: \(b)") }
                print("first bad record: partition \(report.breaks[0].partition), offset \(report.breaks[0].offset)")
            }
            throw ExitCode(2)
        }
    }

    /// `verify --json`: per partition what was checked, and the breaks.
    struct VerifyReport: Encodable {
        var ok: Bool
        var recordsChecked: Int64
        var checkpointsChecked: Int
        var witnessedChecked: Int
        var witness: String?
        var partitions: [ChainVerifier.PartitionReport]
        var breaks: [ChainVerifier.Break]
        init(_ r: ChainVerifier.Report, witness: String?) {
            ok = r.ok; recordsChecked = r.recordsChecked; checkpointsChecked = r.checkpointsChecked; witnessedChecked = r.witnessedChecked
            self.witness = witness; partitions = r.partitions; breaks = r.breaks
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an aggregate's state as of a time, folded from the log.",
            discussion: "Example: wharf audit replay --aggregate service/payments-api --until 2026-11-27T10:00:00Z")

        @Option(help: "Aggregate key, e.g. service/payments-api.") var aggregate: String
        @Option(help: "RFC 3339 time; events after it are ignored (default: now).") var until: String?

        func run() async throws {
            guard let (kind, _) = AggregateKey.split(aggregate), kind == "service" else {
                throw ValidationError("--aggregate must look like service/<name> (got \"\(aggregate)\")")
            }
            var cutoff = Date.distantFuture
            if let until {
                guard let parsed = WharfTime.parse(until) else { throw ValidationError("--until must be an RFC 3339 time like 2026-11-27T10:00:00Z") }
                cutoff = parsed
            }
            let settings = try WharfSettings.fromEnvironment()
            let store = try await WharfStore.open(settings, logger: makeLogger("wharf-audit"), listen: false, createTopics: false)
            do {
                try await replay(store: store, cutoff: cutoff)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }

        private func replay(store: WharfStore, cutoff: Date) async throws {
            let partition = Partitioner.partition(for: aggregate, partitions: try await store.log.partitionCount(topic: Topics.events))
            var state: ServiceState?
            var applied = 0
            var offset: Int64 = 0
            scan: while true {
                let batch = try await store.log.read(topic: Topics.events, partition: partition, from: offset, limit: 5000)
                guard let last = batch.last else { break }
                for record in batch where record.key == aggregate {
                    let envelope = try EventEnvelope.decodeStored(record.value)
                    guard let time = WharfTime.parse(envelope.time), time <= cutoff else { break scan }
                    state = ServiceState.evolve(state, envelope)
                    applied += 1
                }
                offset = last.offset + 1
            }
            guard let state else {
                print("\(aggregate) did not exist at \(until ?? "now")")
                throw ExitCode(1)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(state), as: UTF8.self))
            FileHandle.standardError.write(Data("(\(applied) events of \(aggregate) folded, up to \(until ?? "now"))\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recorded intents through the API.")
        @Option(help: "Aggregate key, e.g. service/payments-api.") var aggregate: String?
        @Option(help: "Actor, e.g. user:admin.") var actor: String?
        @Option(help: "RFC 3339 start time.") var from: String?
        @Option(help: "RFC 3339 end time.") var to: String?
        @Option(help: "Most entries to show, oldest first (1-10000).") var limit: Int = 100
        @OptionGroup var api: APIOptions

        func run() async throws {
            let params = [("aggregate", aggregate), ("actor", actor), ("from", from), ("to", to), ("limit", String(limit))]
                .compactMap { k, v in v.map { "\(k)=\(percentEncoded($0))" } }
            let response = try await api.client().call(.GET, "/v1/audit" + (params.isEmpty ? "" : "?" + params.joined(separator: "&")))
            let count = printItems(response, as: api.output, columns: [
                ("TIME", "time"), ("ACTOR", "actor"), ("COMMAND", "commandType"), ("AGGREGATE", "aggregate"), ("OUTCOME", "outcome"),
                ("POSITION", "position"), ("SIGNED", "covered"), ("REASON", "reason")])
            if api.output == .table, count == limit {
                FileHandle.standardError.write(Data("(showing the first \(limit); narrow with --from/--to or raise --limit)\n".utf8))
            }
        }
    }
}
