import Hummingbird
import Logging
import Server

/// A runtime's API served on a free loopback port, for benchmarks that go through HTTP.
struct LoopbackServer {
    let base: String
    let task: Task<Void, Error>

    static func start(_ runtime: WharfRuntime, logger: Logger) async -> LoopbackServer {
        let (ports, found) = AsyncStream<Int>.makeStream()
        let app = Application(router: runtime.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in found.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        return LoopbackServer(base: "http://127.0.0.1:\(await iterator.next() ?? 0)", task: task)
    }
}
