import ArgumentParser
import Foundation
import Projections
import Server

struct ProjectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections",
        abstract: "Manage the Postgres read models.",
        subcommands: [Rebuild.self])

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild every read model from offset zero and swap it in.",
            discussion: """
            Replays the events topic into a fresh schema beside the live one, showing progress, then swaps it in with one
            transaction (live projectors pause for the swap and carry on from the rebuilt checkpoints). Safe while
            `wharf serve` runs. Reads the store directly (WHARF_DATABASE_URL or the private Postgres under WHARF_DATA_DIR).
            """)

        func run() async throws {
            let store = try await WharfStore.open(try WharfSettings.fromEnvironment(), logger: makeLogger("wharf-projections"), listen: false, createTopics: false)
            let started = Date()
            let rebuild = ProjectionRebuild(log: store.log, database: store.database)
            let replayed: Int64
            do {
                replayed = try await rebuild.run { progress in
                    if progress.applied == progress.total {
                        FileHandle.standardError.write(Data("  partition \(progress.partition): \(progress.total) events replayed\n".utf8))
                    }
                }
            } catch {
                await store.close()
                throw error
            }
            await store.close()
            let seconds = Date().timeIntervalSince(started)
            print("rebuilt read models from \(replayed) events in \(String(format: "%.2f", seconds)) s and swapped them in")
        }
    }
}
