import Commands
import Events
import Foundation
import Hummingbird
import Projections

/// PUT and GET /v1/services/{name}/placement: which clusters a service runs on and how its replicas are divided.
/// A placement naming an unregistered cluster, a selector no registered cluster matches, or a weight for a cluster
/// it does not select is refused before anything is appended. The division itself is the placement scheduler's.
struct PlacementRoutes {
    let gateway: CommandGateway
    let queries: ReadModelQueries
    let consistency: ConsistencyWait

    struct Body: Decodable {
        var clusters: [String]?
        var selector: [String: String]?
        var division: String
        var weights: [String: Int]?
        var replicaCPUMillis: Int?
        var replicaMemoryBytes: Int64?
        static let shape: [String: StrictJSON.Shape] = [
            "clusters": .array(.value), "selector": .value, "division": .value, "weights": .value, "replicaCPUMillis": .value, "replicaMemoryBytes": .value,
        ]
    }

    func register(on router: RouteCollection<WharfRequestContext>) {
        router.put("/v1/services/:name/placement") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "service name")
            var request = request
            let b = try await StrictJSON.decode(Body.self, from: &request, shape: Body.shape)
            guard let division = ServicePlacement.Division(rawValue: b.division) else {
                throw APIError(.unprocessableContent, "division must be static-weight, dynamic-weight or aggregated", field: "division")
            }
            let placement = ServicePlacement(clusters: b.clusters, selector: b.selector, division: division, weights: b.weights,
                                             replicaCPUMillis: b.replicaCPUMillis, replicaMemoryBytes: b.replicaMemoryBytes)
            let command = Command(SetServicePlacement(name: name, placement: placement))
            let errors = CommandValidation.validate(command)
            if let first = errors.first { throw APIError(.unprocessableContent, errors.map(\.description).joined(separator: "; "), field: first.field) }
            try await consistency.wait(for: request)
            guard try await queries.service(named: name) != nil else { throw APIError(.notFound, "service \"\(name)\" does not exist") }
            let registered = try await queries.clusters()
            let names = Set(registered.map(\.name))
            if let unknown = placement.clusters?.first(where: { !names.contains($0) }) {
                throw APIError(.unprocessableContent, "cluster \"\(unknown)\" is not registered", field: "clusters")
            }
            let selected = registered.filter { placement.selects(cluster: $0.name, labels: $0.spec.labels) }.map(\.name)
            if selected.isEmpty {
                throw APIError(.unprocessableContent, "the placement selects no registered cluster (its names and selector match none together)",
                               field: placement.selector != nil ? "selector" : "clusters")
            }
            if let stray = placement.weights?.keys.sorted().first(where: { !selected.contains($0) }) {
                throw APIError(.unprocessableContent, "weights name cluster \"\(stray)\", which the placement does not select", field: "weights")
            }
            return try await IntentSubmission.submit(command, gateway: gateway, request: request, context: context)
        }
        router.get("/v1/services/:name/placement") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "service name")
            try await consistency.wait(for: request)
            guard let json = try await queries.placementJSON(service: name) else {
                throw APIError(.notFound, "service \"\(name)\" has no placement")
            }
            return JSONResponse.raw(json)
        }
    }
}
