import ArgumentParser
import AsyncHTTPClient
import EventLog
import Events
import Foundation
import NIOCore
import Server

/// What a witness keeps: the newest signed checkpoint of every partition, taken out of the store.
struct WitnessFile: Codable {
    var exportedAt: String
    /// The topics exported (each checkpoint names its own); files from before commands were chained say "topic".
    var topics: [String]?
    var topic: String?
    var checkpoints: [Checkpoint]
}

extension AuditCommand {
    struct Witness: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep signed checkpoints outside the database.",
            subcommands: [Export.self])

        struct Export: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write (or POST) the newest signed checkpoint of every partition of the events and the commands topics.",
                discussion: """
                The security team keeps these files outside the database and the broker (run it from cron, say every
                minute). `wharf audit verify --witness FILE` then proves the log still passes through every checkpoint in
                the file: a log truncated or rolled back to before them, with the later checkpoints deleted too, is caught.
                Reads the log store directly, like `audit verify`.
                """)

            @Option(help: "File to write (default: standard output).") var out: String?
            @Option(help: "URL to POST the file to (application/json), e.g. a witness service.") var url: String?

            func run() async throws {
                let settings = try WharfSettings.fromEnvironment()
                let store = try await WharfStore.open(settings, logger: makeLogger("wharf-audit"), listen: false, createTopics: false)
                let file: WitnessFile
                do {
                    file = try await Self.newest(log: store.log)
                } catch {
                    await store.close()
                    throw error
                }
                await store.close()
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                let data = try encoder.encode(file)
                if let url {
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(bytes: data))
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                    guard (200..<300).contains(response.status.code) else {
                        throw ValidationError("the witness at \(url) answered HTTP \(response.status.code)")
                    }
                }
                if let out {
                    try data.write(to: URL(fileURLWithPath: out), options: .atomic)
                } else if url == nil {
                    print(String(decoding: data, as: UTF8.self))
                }
                FileHandle.standardError.write(Data("\(file.checkpoints.count) checkpoints of \((file.topics ?? []).joined(separator: " and ")) exported\n".utf8))
            }

            static func newest(log: any EventLog) async throws -> WitnessFile {
                var newest: [Checkpoint] = []
                let topics = [Topics.events, Topics.commands]
                for p in 0..<(try await log.partitionCount(topic: Topics.events)) {
                    let all = try await log.checkpoints(of: topics, partition: p).checkpoints
                    for topic in topics {
                        // The first of the highest offset, as the loop that read them kept it.
                        if let best = all.filter({ $0.topic == topic }).reduce(nil as Checkpoint?, { best, c in c.offset > best?.offset ?? -1 ? c : best }) {
                            newest.append(best)
                        }
                    }
                }
                return WitnessFile(exportedAt: WharfTime.format(Date()), topics: topics, checkpoints: newest)
            }
        }
    }
}
