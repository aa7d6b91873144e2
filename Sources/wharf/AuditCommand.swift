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
        subcommands: [Verify.self, Replay.self, List.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk every hash chain of the events topic in the log store.",
            discussion: """
            Reads the log store directly (WHARF_DATABASE_URL, or the private Postgres under WHARF_DATA_DIR), not through
            the API under audit. Recomputes SHA-256(prevHash || record) for every record of every partition, and checks
            the signed checkpoints: each signature against the trusted public keys, each signed hash against the
            recomputed chain, and that none are missing. Exits 0 when everything verifies; otherwise names the first bad
            partition and offset and exits 2.
            """)

        @Option(help: "File of trusted checkpoint public keys, one base64 key per line (default: $WHARF_SIGNING_KEY_FILE.pub).")
        var trustedKeys: String?

        @Option(help: "Most records allowed between two checkpoints before checkpoints count as removed (0: do not check).")
        var maxCheckpointGap: Int64 = 2000

        func run() async throws {
            let settings = try WharfSettings.fromEnvironment()
            let keyFile = trustedKeys ?? settings.signingKeyFile + ".pub"
            var trusted: TrustedKeys?
            if FileManager.default.fileExists(atPath: keyFile) {
                trusted = try TrustedKeys(file: keyFile)
            } else if trustedKeys != nil {
                throw ValidationError("--trusted-keys: \(keyFile) does not exist")
            } else {
                print("warning: no trusted public key at \(keyFile): checkpoint signatures are not checked (pass --trusted-keys)")
            }
            let store = try await WharfStore.open(settings, logger: makeLogger("wharf-audit"), listen: false, createTopics: false)
            let report: ChainVerifier.Report
            do {
                report = try await ChainVerifier(log: store.log, trusted: trusted, maxCheckpointGap: maxCheckpointGap > 0 ? maxCheckpointGap : nil)
                    .verify(topic: Topics.events)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
            if report.ok {
                print("verified: \(report.recordsChecked) records in \(report.partitionsChecked) partitions of \(Topics.events); every chain is intact; "
                      + "\(report.checkpointsChecked) signed checkpoints match" + (report.checkpointsUnchecked > 0 ? " (signatures not checked: no trusted keys)" : ""))
                return
            }
            for b in report.breaks { print("TAMPERED: \(b)") }
            let first = report.breaks[0]
            print("first bad record: partition \(first.partition), offset \(first.offset)")
            throw ExitCode(2)
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
                ("POSITION", "position"), ("REASON", "reason")])
            if api.output == .table, count == limit {
                FileHandle.standardError.write(Data("(showing the first \(limit); narrow with --from/--to or raise --limit)\n".utf8))
            }
        }
    }
}
