import Crypto
import EventLog
import Events
import Foundation
import Logging
import Projections

/// Divides every placed service's replicas over its clusters and records each new division with what it saw
/// (`RecordPlacementDecision`, checked again by the service decider). Every process runs it; the command id is
/// derived from the placement's last position and the result, so when several processes reach the same division
/// each appends the same command and the processor decides it once (the repeats are answered from history).
///
/// A cluster that is not healthy holds its replicas (and takes none) for `grace`; after that it takes part no more
/// and its share moves to the others, as a drain moves it at once. A cluster without a health report yet counts
/// as not healthy. A move between clusters that all take part (a cluster's return, new weights) goes in steps
/// (`PlacementDivider.decide`), each one after the last has settled.
public struct PlacementScheduler: Sendable {
    let queries: ReadModelQueries
    let appender: CommandAppender
    let logger: Logger
    var every: Duration = .seconds(1)
    var grace: Double = 30

    public static let actor = "system:placement"

    public init(queries: ReadModelQueries, appender: CommandAppender, logger: Logger, every: Duration = .seconds(1), graceSeconds: Double = 30) {
        self.queries = queries; self.appender = appender; self.logger = logger; self.every = every; self.grace = graceSeconds
    }

    public func run() async {
        var shortages: [String: String] = [:]
        while !Task.isCancelled {
            var idle = false
            do {
                let placements = try await queries.placements()
                idle = placements.isEmpty
                let clusters = placements.isEmpty ? [] : try await queries.clusters()
                for p in placements {
                    let inputs = Self.inputs(for: p, clusters: clusters, grace: grace)
                    let result: [String: Int]
                    do { result = try PlacementDivider.decide(p.replicas, placement: p.placement, inputs: inputs) } catch {
                        let text = "\(error)"
                        if shortages[p.service] != text { logger.warning("placement of \(p.service): cannot divide \(p.replicas) replicas: \(text)") }
                        shortages[p.service] = text
                        continue
                    }
                    shortages[p.service] = nil
                    let decided = p.decidedRevision == p.placementRevision && p.decidedReplicas == p.replicas && p.result == result
                    if decided { continue }
                    // A step of a gradual move waits until the last one has settled (its new shares ready).
                    if p.settled != p.result, result != (try? PlacementDivider.divide(p.replicas, placement: p.placement, inputs: inputs)) { continue }
                    let digest = Self.digest(result)
                    try await appender.append(Command(RecordPlacementDecision(name: p.service, placementRevision: p.placementRevision, replicas: p.replicas,
                                                                              inputs: inputs, result: result)),
                                              id: "placement:\(p.service):\(p.position):\(digest)", actor: Self.actor,
                                              correlationId: "placement:\(p.service)", causationId: nil)
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("placement scheduler: \(error)")
            }
            // Nothing placed: look again in 5 s, not every second (a first placement waits at most that long).
            try? await Task.sleep(for: idle ? every * 5 : every)
        }
    }

    /// What each of the placement's clusters looks like to the division now.
    static func inputs(for p: PlacementRecord, clusters: [ClusterRecord], grace: Double) -> [PlacementInput] {
        clusters.filter { p.placement.selects(cluster: $0.name, labels: $0.spec.labels) }.map { c in
            let healthy = c.health?.healthy ?? false
            let state: String
            switch c.scheduling {
            case .draining: state = "draining"
            case .cordoned: state = healthy || (c.unhealthyFor ?? .infinity) < grace ? "cordoned" : "unhealthy"
            case .active: state = healthy ? "active" : (c.health != nil && (c.unhealthyFor ?? .infinity) < grace) ? "cordoned" : "unhealthy"
            }
            var input = PlacementInput(cluster: c.name, state: state, previous: p.result[c.name] ?? 0)
            switch p.placement.division {
            case .staticWeight: input.weight = p.placement.weights?[c.name] ?? 1
            case .dynamicWeight, .aggregated:
                let h = c.health
                let cpu = max(0, (h?.allocatableCPUMillis ?? 0) - (h?.requestedCPUMillis ?? 0)) / Int64(p.placement.cpuPerReplica)
                let memory = max(0, (h?.allocatableMemoryBytes ?? 0) - (h?.requestedMemoryBytes ?? 0)) / p.placement.memoryPerReplica
                input.available = state == "active" ? Int(min(cpu, memory, 1_000_000)) : 0
            }
            return input
        }
    }

    static func digest(_ result: [String: Int]) -> String {
        let text = (try? CanonicalJSON.encode(result)) ?? ""
        return SHA256.hash(data: Data(text.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
