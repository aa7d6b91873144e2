import EventLog
import Foundation
import Hummingbird
import Prometheus

/// /healthz for probes, /metrics for Prometheus. Both open (no token).
struct SystemRoutes {
    let database: Database
    let log: any EventLog
    let health: PartitionHealth
    let readiness: Readiness
    let registry: PrometheusCollectorRegistry

    struct Halt: Encodable {
        var group: String
        var partition: Int
        var topic: String
        var reason: String
        var process: String?
    }

    func register(on router: Router<WharfRequestContext>) {
        router.get("/healthz") { _, _ in
            do {
                try await database.client.query("SELECT 1", logger: database.logger)
            } catch {
                return JSONResponse.raw(#"{"status":"unavailable","reason":"database unreachable"}"#, status: .serviceUnavailable)
            }
            let halts = health.halts.sorted { $0.key < $1.key }
                .map { Halt(group: $0.key.group, partition: $0.key.partition, topic: $0.value.topic, reason: $0.value.reason, process: $0.value.process) }
            guard halts.isEmpty else {
                struct Body: Encodable { var status = "halted"; var halts: [Halt] }
                return try JSONResponse.make(Body(halts: halts), status: .serviceUnavailable)
            }
            if let waiting = readiness.waitingFor {
                struct Body: Encodable { var status = "starting"; var reason: String }
                return try JSONResponse.make(Body(reason: waiting), status: .serviceUnavailable)
            }
            return JSONResponse.raw(#"{"status":"ok"}"#)
        }
        router.get("/metrics") { _, _ in
            await updatePartitionGauges()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: .init(string: registry.emitToString())))
        }
    }

    /// wharf_partition_halted{group,partition} (1 halted, 0 consuming) and wharf_consumer_lag{group,partition}
    /// (records between the consumer's position and the partition's end) for what this process knows of.
    private func updatePartitionGauges() async {
        var ends: [String: Int64] = [:]
        let halts = health.halts
        for (key, entry) in health.snapshot {
            let labels = [("group", key.group), ("partition", String(key.partition))]
            registry.makeGauge(name: "wharf_partition_halted", labels: labels).set(Double(entry.halted == nil ? 0 : 1))
            guard entry.owned else { continue }
            let endKey = "\(entry.topic)/\(key.partition)"
            if ends[endKey] == nil { ends[endKey] = try? await log.endOffset(topic: entry.topic, partition: key.partition) }
            if let end = ends[endKey] { registry.makeGauge(name: "wharf_consumer_lag", labels: labels).set(Double(max(0, end - entry.next))) }
        }
        for (key, _) in halts {
            registry.makeGauge(name: "wharf_partition_halted", labels: [("group", key.group), ("partition", String(key.partition))]).set(Double(1))
        }
    }
}
