import AsyncHTTPClient
import EventLog
import Events
import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing
import TestSupport

/// A partition whose events lost a record halts its processor on start. A real `wharf serve` must then say so
/// everywhere: /healthz 503 naming group, partition and cause; the metric; writes to that partition answered 503
/// at once with nothing appended; `wharf status` listing the halt (exit 1). Other partitions keep working.
@Suite struct HaltedPartitionTests {
    @Test(.timeLimit(.minutes(3))) func aHaltedPartitionShowsInHealthMetricsWritesAndStatus() async throws {
        let logger = TestEnvironment.logger
        let scratch = try await Database.createScratch(base: try TestEnvironment.postgres(), prefix: "wharf_halt_test", logger: logger)
        let url = "postgres://\(scratch.username)@\(scratch.host ?? "127.0.0.1"):\(scratch.port)/\(scratch.database)"
        let token = "halt-test-token-0123456789"
        let port = try TestEnvironment.freePort()
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-halt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let partitions = 4
        let victim = "victim", bystander = try Self.nameOnAnotherPartition(than: victim, partitions: partitions)
        let victimPartition = Partitioner.partition(for: AggregateKey.service(victim), partitions: partitions)

        let first = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dataDirectory, partitions: partitions)
        try await first.waitUntilHealthy()
        for name in [victim, bystander] {
            let created = try await call(port, token, .POST, "/v1/services", #"{"name":"\#(name)","businessLine":"b","image":"reg.local/x:1","replicas":1}"#)
            #expect(created.status == 201, "\(created.body)")
        }
        #expect(try await call(port, token, .POST, "/v1/services/\(victim)/scale", #"{"replicas":2}"#).status == 200)
        first.terminate()

        // Someone with database access removes the victim's first event: its partition's history now has a hole.
        let database = try await Database.open(scratch, logger: logger)
        defer { Task { await database.close() } }
        try await database.client.query("DELETE FROM wharf_log.records WHERE topic = 'events' AND partition = \(victimPartition) AND \"offset\" = 0")
        let commandsBefore = try await commandCount(database)

        let second = try WharfProcess(databaseURL: url, token: token, port: port, dataDirectory: dataDirectory, partitions: partitions)
        defer { second.terminate() }
        var health = (status: 0, body: "")
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            // 503 "starting" comes first, while the second process is still making sure of its first admin; the halt
            // follows once the processor has folded the victim's partition (and then takes precedence).
            if let h = try? await call(port, token, .GET, "/healthz"), h.status == 503 {
                health = h
                if h.body.contains(#""status":"halted""#) { break }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(health.status == 503, "healthz: \(health) \(second.log.suffix(2000))")
        let halts = (try JSONSerialization.jsonObject(with: Data(health.body.utf8)) as? [String: Any])?["halts"] as? [[String: Any]] ?? []
        #expect(halts.contains { $0["group"] as? String == "command-processor" && $0["partition"] as? Int == victimPartition
                && ($0["reason"] as? String ?? "").contains("records are missing") }, "\(health.body)")

        let metrics = try await call(port, token, .GET, "/metrics").body
        #expect(metrics.contains(#"wharf_partition_halted{group="command-processor",partition="\#(victimPartition)"} 1"#), "\(metrics.prefix(3000))")
        #expect(metrics.contains("wharf_consumer_lag{"), "lag per partition is exported")

        let refused = try await call(port, token, .POST, "/v1/services/\(victim)/scale", #"{"replicas":3}"#)
        #expect(refused.status == 503 && refused.body.contains("partition \(victimPartition) of the command processor is halted"), "\(refused)")
        #expect(try await commandCount(database) == commandsBefore, "a refused write appends nothing")
        let other = try await call(port, token, .POST, "/v1/services/\(bystander)/scale", #"{"replicas":2}"#)
        #expect(other.status == 200, "other partitions still decide: \(other)")

        // The status table is written every second; give it a moment, then ask the CLI.
        try await Task.sleep(for: .seconds(2))
        let status = try ExternalTool.run([try TestEnvironment.wharfBinary(), "status"],
                                          env: ["WHARF_DATABASE_URL": url, "WHARF_DATA_DIR": dataDirectory])
        #expect(status.status == 1, "status exits 1 while a live process reports a halt: \(status.output)")
        let line = status.output.split(separator: "\n").first { $0.hasPrefix("command-processor") && $0.contains(" halted ") }
        #expect(line?.contains("records are missing") == true && line?.split(separator: " ").dropFirst().first == "\(victimPartition)",
                "\(status.output)")
        try? await Database.dropScratch(scratch, logger: logger)
    }

    static func nameOnAnotherPartition(than name: String, partitions: Int) throws -> String {
        let p = Partitioner.partition(for: AggregateKey.service(name), partitions: partitions)
        return try #require((0..<100).map { "bystander-\($0)" }.first { Partitioner.partition(for: AggregateKey.service($0), partitions: partitions) != p })
    }

    func commandCount(_ database: Database) async throws -> Int64 {
        for try await n in try await database.client.query("SELECT count(*) FROM wharf_log.records WHERE topic = 'commands'").decode(Int64.self) { return n }
        return 0
    }

    func call(_ port: Int, _ token: String, _ method: HTTPMethod, _ path: String, _ body: String? = nil) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { request.headers.add(name: "Content-Type", value: "application/json"); request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }
}
