import Commands
import Events
import Foundation
import HTTPTypes
import Hummingbird
import Projections

/// /v1/services: the portal's service contract.
struct ServiceRoutes {
    let gateway: CommandGateway
    let queries: ReadModelQueries
    let consistency: ConsistencyWait
    let secrets: ServiceSecrets

    func register(on router: RouteCollection<WharfRequestContext>) {
        router.post("/v1/services") { request, context in
            var request = request
            let body = try await StrictJSON.decode(CreateServiceRequest.self, from: &request, shape: CreateServiceRequest.shape)
            // Sealed with the name as given; a bad name is refused by validation before anything is appended.
            let command = body.command(sealedSecrets: try secrets.seal(body.secretEnv, service: body.name))
            return try await submit(command, request: request, context: context, created: true)
        }
        named(router, .patch, "/v1/services/:name", UpdateServiceRequest.self, UpdateServiceRequest.shape) { name, b in
            Command(UpdateServiceConfig(name: name, env: b.env, ports: b.ports, healthCheck: b.healthCheck, domain: b.domain,
                                        clearHealthCheck: b.clearHealthCheck, clearDomain: b.clearDomain,
                                        secretEnv: try secrets.seal(b.secretEnv, service: name), removeSecretEnv: b.removeSecretEnv))
        }
        named(router, .post, "/v1/services/:name/scale", ScaleRequest.self, ScaleRequest.shape) { name, b in
            Command(ScaleService(name: name, replicas: b.replicas))
        }
        named(router, .post, "/v1/services/:name/upgrade", UpgradeRequest.self, UpgradeRequest.shape) { name, b in
            Command(UpgradeServiceImage(name: name, image: b.image))
        }
        named(router, .post, "/v1/services/:name/rollback", RollbackRequest.self, RollbackRequest.shape) { name, b in
            Command(RollbackService(name: name, revision: b.revision))
        }
        router.delete("/v1/services/:name") { request, context in
            let name = try serviceName(context)
            return try await submit(Command(DestroyService(name: name)), request: request, context: context)
        }
        named(router, .put, "/v1/services/:name/addresses", AddressesRequest.self, AddressesRequest.shape) { name, b in
            Command(SetServiceAddresses(name: name, addresses: b.addresses))
        }
        router.get("/v1/services") { request, context in
            try await consistency.wait(for: request)
            let businessLine = request.uri.queryParameters.get("businessLine")
            // Platform roles see every line; a member the lines they hold a role in.
            let principal = try context.requirePrincipal()
            let visible = principal.readsAll ? nil : principal.grants.lines.keys.sorted()
            return try JSONResponse.make(Items(items: try await queries.services(businessLine: businessLine, visibleLines: visible)))
        }
        router.get("/v1/services/:name") { request, context in
            let name = try serviceName(context)
            try await consistency.wait(for: request)
            guard let service = try await queries.service(named: name) else {
                throw APIError(.notFound, "service \"\(name)\" does not exist")
            }
            return try JSONResponse.make(service)
        }
        router.get("/v1/services/:name/revisions") { request, context in
            let name = try serviceName(context)
            try await consistency.wait(for: request)
            let revisions = try await queries.revisions(of: name)
            if revisions.isEmpty, try await queries.service(named: name) == nil {
                throw APIError(.notFound, "service \"\(name)\" does not exist")
            }
            return try JSONResponse.make(Items(items: revisions))
        }
        secrets.register(on: router)
    }

    /// A write on one named service: path name checked, body read strictly, turned into a command and submitted.
    private func named<Body: Decodable>(_ router: RouteCollection<WharfRequestContext>, _ method: HTTPRequest.Method, _ path: RouterPath,
                                        _ type: Body.Type, _ shape: [String: StrictJSON.Shape],
                                        _ command: @escaping @Sendable (String, Body) throws -> Command) {
        router.on(path, method: method) { request, context in
            let name = try serviceName(context)
            var request = request
            let body = try await StrictJSON.decode(Body.self, from: &request, shape: shape)
            return try await submit(try command(name, body), request: request, context: context)
        }
    }

    private func serviceName(_ context: WharfRequestContext) throws -> String {
        try context.dnsLabelParameter("name", describedAs: "service name")
    }

    private func submit(_ command: Command, request: Request, context: WharfRequestContext, created: Bool = false) async throws -> Response {
        try await IntentSubmission.submit(command, gateway: gateway, request: request, context: context, created: created)
    }
}
