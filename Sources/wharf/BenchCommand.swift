import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print their figures: the spine (default), Nginx config generation and apply, partition takeover, authorization, audit verify, concurrent HTTP writes, codeflow builds.",
        discussion: """
        `wharf bench` alone runs `wharf bench spine`. Build with `swift build -c release` (or
        WHARF_BUILD_CONFIG=release ops/wharf ...) for meaningful figures.
        """,
        subcommands: [BenchSpineCommand.self, BenchNginxCommand.self, BenchInstancesCommand.self, BenchConvergeCommand.self, BenchTakeoverCommand.self, BenchTakeoverProbe.self, BenchAuthCommand.self,
                      BenchVerifyCommand.self, BenchHTTPCommand.self, BenchBuildCommand.self],
        defaultSubcommand: BenchSpineCommand.self)
}
