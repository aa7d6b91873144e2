import ArgumentParser
import EventLog
import Events
import Foundation
import Logging
import Projections
import Prometheus
import Server

struct BenchAuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth",
        abstract: "Measure what authorization adds to a request: token lookup, policy match and permission check.",
        discussion: """
        Builds a scratch installation (a developer of one business line, a service in it, their token), then times the
        authorization step of a write (POST /v1/services/NAME/scale) in-process, many times: PolicyTable.match +
        Authorizer.authenticate + Authorizer.check, with the caches as they are in a running server (a token is looked
        up in Postgres at most every 0.5 s, grants every 1 s, a service's line every 30 s). That is what a request pays
        over one without the check. Also prints the cold cost (caches emptied before each call).
        """)

    @Option(help: "Authorization checks to time.") var iterations = 100_000

    func run() async throws {
        var logger = makeLogger("wharf-bench")
        logger.logLevel = .warning
        let bench = try await BenchDatabase.open(prefix: "wharf_bench_auth", logger: logger)
        let log = try await PostgresEventLog.open(database: bench.database)
        try await log.ensureTopics(TopicSpec.spine(partitions: 4))
        let runtime = try await WharfRuntime(store: WharfStore.attach(database: bench.database, log: log), partitions: 4,
                                             registry: PrometheusCollectorRegistry(), logger: logger)
        runtime.start()
        _ = try await runtime.bootstrap(token: TokenStore.generateToken())
        let secret = TokenStore.generateToken()
        for command in [Command(CreateUser(name: "dev", displayName: "Dev", email: "dev@example.com")),
                        Command(CreateBusinessLine(name: "pay", displayName: "Payments")),
                        Command(SetMemberRole(line: "pay", user: "dev", role: .developer)),
                        Command(CreateService(name: "pay-api", businessLine: "pay", image: "registry.example.com/pay:1", replicas: 1)),
                        Command(IssueToken(id: "00000000000000aa", user: "dev", description: "bench", sha256: TokenStore.hash(secret)))] {
            _ = try await runtime.gateway.submit(command, actor: "user:admin", correlationId: nil, idempotencyKey: nil)
        }
        let queries = ReadModelQueries(database: bench.database)
        let authorizer = Authorizer(queries: queries, tokens: runtime.tokens)
        while true {
            let token = try await queries.tokenPrincipal(sha256: TokenStore.hash(secret))
            let service = try await queries.service(named: "pay-api")
            if token != nil && service != nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }

        func once() async throws -> Duration {
            let clock = ContinuousClock(), start = clock.now
            guard let (entry, parameters) = PolicyTable.match(method: .post, path: "/v1/services/pay-api/scale") else { throw ExitCode.failure }
            let principal = try await authorizer.authenticate(token: secret)
            let verdict = try await authorizer.authorize(entry.requirement, principal: principal, parameters: parameters, bodyLine: nil, write: true)
            guard verdict.missing == nil, verdict.authorizedLine == "pay" else {
                throw ValidationError("the bench's developer was refused: \(verdict.missing ?? "no authorized line")")
            }
            return clock.now - start
        }
        for _ in 0..<1000 { _ = try await once() }
        var warm: [Double] = []
        warm.reserveCapacity(iterations)
        for _ in 0..<iterations { warm.append(try await once().milliseconds) }
        var cold: [Double] = []
        for _ in 0..<200 {
            authorizer.forgetAll()
            cold.append(try await once().milliseconds)
        }
        func p(_ xs: [Double], _ q: Double) -> Double { let s = xs.sorted(); return s[min(s.count - 1, Int(Double(s.count) * q))] }
        print(String(format: "authorization of a write (match + token + line check), %d times:  p50 %.4f ms   p99 %.4f ms   max %.3f ms",
                     warm.count, p(warm, 0.5), p(warm, 0.99), warm.max() ?? 0))
        print(String(format: "  with every cache emptied first (3 Postgres lookups), %d times:    p50 %.3f ms   p99 %.3f ms",
                     cold.count, p(cold, 0.5), p(cold, 0.99)))
        print("  (in a server, at most one request per token per 0.5 s pays the cold cost; the HTTP path itself is in `bench spine`)")
        await runtime.stop()
        log.close()
        try await bench.drop()
    }
}
