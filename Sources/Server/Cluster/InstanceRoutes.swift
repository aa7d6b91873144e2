import Commands
import Events
import Hummingbird
import Projections

/// GET /v1/services/{name}/instances (the pods running now, as the cluster workers last saw them) and
/// GET /v1/services/{name}/history?limit= (every pod seen, newest first, with when it went) and
/// GET /v1/services/{name}/rollout (each cluster's Deployment: revision, updated, ready, available): read models of the log.
/// POST /v1/services/{name}/instances/{cluster}/{pod}/rotation {inRotation}: one pod out of the load balancer, or back.
struct InstanceRoutes {
    let gateway: CommandGateway
    let queries: ReadModelQueries
    let consistency: ConsistencyWait

    struct RotationBody: Decodable {
        var inRotation: Bool
        static let shape: [String: StrictJSON.Shape] = ["inRotation": .value]
    }

    func register(on router: RouteCollection<WharfRequestContext>) {
        router.post("/v1/services/:name/instances/:cluster/:pod/rotation") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "service name")
            let cluster = try context.dnsLabelParameter("cluster", describedAs: "cluster name")
            let pod = try context.parameters.require("pod")
            var request = request
            let b = try await StrictJSON.decode(RotationBody.self, from: &request, shape: RotationBody.shape)
            let command = Command(SetInstanceRotation(name: name, cluster: cluster, pod: pod, inRotation: b.inRotation))
            return try await IntentSubmission.submit(command, gateway: gateway, request: request, context: context)
        }
        router.get("/v1/services/:name/instances") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "service name")
            try await consistency.wait(for: request)
            guard try await queries.service(named: name) != nil else { throw APIError(.notFound, "service \"\(name)\" does not exist") }
            return JSONResponse.raw(try await queries.instancesJSON(service: name))
        }
        router.get("/v1/services/:name/rollout") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "service name")
            try await consistency.wait(for: request)
            guard try await queries.service(named: name) != nil else { throw APIError(.notFound, "service \"\(name)\" does not exist") }
            return JSONResponse.raw(try await queries.rolloutsJSON(service: name))
        }
        router.get("/v1/services/:name/history") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "service name")
            let limit = try request.uri.queryParameters.get("limit").map { text -> Int in
                guard let n = Int(text), (1...1000).contains(n) else { throw APIError(.badRequest, "limit must be 1-1000", field: "limit") }
                return n
            } ?? 100
            try await consistency.wait(for: request)
            guard try await queries.service(named: name) != nil else { throw APIError(.notFound, "service \"\(name)\" does not exist") }
            return JSONResponse.raw(try await queries.instanceHistoryJSON(service: name, limit: limit))
        }
    }
}
