import EventLog
import Events
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import Server
import TestSupport
import Workers

/// A whole Wharf node (processor, projector, tracker, API) on a scratch database of the real test Postgres,
/// exercised through Hummingbird's in-process router client.
struct ServerHarness {
    static let token = "test-admin-token-0123456789"
    let runtime: WharfRuntime
    let store: WharfStore
    let partitions = 4

    static func with(_ kind: LogKind = .postgres, sso: JWTValidator? = nil, signer: CheckpointSigner? = nil, builds: BuildSettings? = nil,
                     secrets: SecretKeyring = .ephemeral(), _ body: (ServerHarness, any TestClientProtocol) async throws -> Void) async throws {
        let database = try await TestEnvironment.scratchDatabase("wharf_api_test")
        let log: any EventLog
        let closeLog: () -> Void
        switch kind {
        case .postgres:
            let postgres = try await PostgresEventLog.open(database: database)
            (log, closeLog) = (postgres, postgres.close)
        case .kafka:
            let kafka = try await TestEnvironment.kafkaLog(database: database, prefix: TestEnvironment.uniqueTopicPrefix("api"))
            (log, closeLog) = (kafka, kafka.close)
        }
        try await log.ensureTopics(TopicSpec.spine(partitions: 4))
        let store = WharfStore.attach(database: database, log: log)
        let runtime = try await WharfRuntime(store: store, partitions: 4, registry: PrometheusCollectorRegistry(), logger: TestEnvironment.logger,
                                             signer: signer, sso: sso, secrets: secrets, builds: builds)
        // The suite runs fifty-odd suites at once on two cores: projections can trail a write by more than the
        // five seconds a portal gets, and a 504 there would say nothing about the behaviour under test.
        runtime.readWait = .seconds(30)
        runtime.start()
        _ = try await runtime.bootstrap(token: token)
        let harness = ServerHarness(runtime: runtime, store: store)
        let app = Application(router: runtime.router())
        // Each step of the teardown is bounded and named: a step that hangs is reported (and left behind) instead of
        // holding up the whole suite with no word of where.
        func teardown() async {
            await step("runtime.stop()") { await runtime.stop() }
            await step("store.close()") { await store.close() }
            closeLog()
        }
        do {
            try await app.test(.router) { client in try await body(harness, client) }
        } catch {
            await teardown()
            throw error
        }
        await teardown()
        await step("dropScratch") { try? await Database.dropScratch(database.settings, logger: TestEnvironment.logger) }
    }

    private static func step(_ name: String, _ work: @escaping @Sendable () async -> Void) async {
        if await !finishes(within: .seconds(60), work) { print("ServerHarness: WARNING: \(name) did not finish within 60 s; left behind") }
    }

    /// Records in the commands topic, over all partitions: what "nothing appended" is measured by.
    func commandCount() async throws -> Int64 {
        var total: Int64 = 0
        for p in 0..<partitions { total += try await store.log.endOffset(topic: Topics.commands, partition: p) }
        return total
    }

    /// Commands of callers (not `system:` workers): what "nothing appended" means while cluster workers record health
    /// and instances in the background.
    func callerCommandCount() async throws -> Int {
        var total = 0
        for p in 0..<partitions {
            for record in try await readAll(store.log, Topics.commands, p, includeChain: false) {
                let object = try JSONSerialization.jsonObject(with: Data(record.value.utf8)) as? [String: Any]
                if !((object?["actor"] as? String) ?? "").hasPrefix("system:") { total += 1 }
            }
        }
        return total
    }
}

extension TestClientProtocol {
    func call(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, token: String? = ServerHarness.token,
              headers extra: [String: String] = [:]) async throws -> (status: Int, json: [String: Any], text: String) {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        for (k, v) in extra { headers[HTTPField.Name(k)!] = v }
        let response = try await executeRequest(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
        let text = String(buffer: response.body)
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return (Int(response.status.code), object, text)
    }
}
