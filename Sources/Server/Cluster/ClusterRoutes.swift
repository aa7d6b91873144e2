import EventLog
import Commands
import Events
import Foundation
import Hummingbird
import Projections
import Workers

/// /v1/clusters: register Kubernetes clusters, list them, cordon, uncordon, drain and remove them.
///
/// A registration is checked against the cluster before anything is appended: the API server must answer over
/// HTTPS, trusting the given CA bundle, and list nodes with the given token. A cluster that cannot be reached, a
/// certificate that does not verify or a token it refuses is a 422 naming that field. The token is sealed at once
/// (`SecretKeyring`, scope "cluster:<name>") and is in no answer or read model column an answer selects.
struct ClusterRoutes {
    let gateway: CommandGateway
    let queries: ReadModelQueries
    let consistency: ConsistencyWait
    let secrets: SecretKeyring

    func register(on router: RouteCollection<WharfRequestContext>) {
        router.post("/v1/clusters") { request, context in
            var request = request
            let b = try await StrictJSON.decode(RegisterClusterRequest.self, from: &request, shape: RegisterClusterRequest.shape)
            guard let environment = ClusterEnvironment(rawValue: b.environment) else {
                throw APIError(.unprocessableContent, "environment must be test or prod", field: "environment")
            }
            guard ClusterValidation.isToken(b.token) else {
                throw APIError(.unprocessableContent, "token must be 1-\(ClusterValidation.maxTokenBytes) visible ASCII characters (a bearer token)",
                               field: "token")
            }
            let spec = ClusterSpec(apiServer: b.apiServer, caBundle: b.caBundle, environment: environment, region: b.region, labels: b.labels ?? [:])
            // Field rules before anything is sealed or contacted (a placeholder stands in for the sealed token).
            let errors = ClusterValidation.validate(Command(RegisterCluster(name: b.name, spec: spec, token: Self.placeholderToken)))
            if let first = errors.first { throw APIError(.unprocessableContent, errors.map(\.description).joined(separator: "; "), field: first.field) }
            try await consistency.wait(for: request)
            let registered = try await queries.clusters()
            if registered.contains(where: { $0.name == b.name }) {
                throw APIError(.conflict, "cluster \"\(b.name)\" is registered already (remove it first to register it again)", field: "name")
            }
            // Two registrations of one API server would each prune what the other's placements put there (Wharf's
            // objects carry the service, not the cluster name), and each would report the other's pods as its own.
            if let twin = registered.first(where: { Self.sameServer($0.spec.apiServer, b.apiServer) }) {
                throw APIError(.conflict, "API server \(b.apiServer) is registered already as cluster \"\(twin.name)\"", field: "apiServer")
            }
            try await Self.probe(spec, token: b.token)
            let sealed = try secrets.seal(b.token, service: ClusterSecrets.scope(cluster: b.name), variable: ClusterSecrets.variable)
            return try await IntentSubmission.submit(Command(RegisterCluster(name: b.name, spec: spec, token: sealed)), gateway: gateway,
                                                     request: request, context: context, created: true)
        }
        router.get("/v1/clusters") { request, _ in
            try await consistency.wait(for: request)
            return JSONResponse.raw(try await queries.clustersJSON())
        }
        router.get("/v1/clusters/:name") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "cluster name")
            try await consistency.wait(for: request)
            let json = try await queries.clustersJSON(only: name)
            guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                  let item = (object["items"] as? [Any])?.first else { throw APIError(.notFound, "cluster \"\(name)\" is not registered") }
            return JSONResponse.raw(String(decoding: try JSONSerialization.data(withJSONObject: item, options: [.sortedKeys]), as: UTF8.self))
        }
        for (verb, make) in [("cordon", { Command(CordonCluster(name: $0)) }), ("uncordon", { Command(UncordonCluster(name: $0)) }),
                             ("drain", { Command(DrainCluster(name: $0)) })] as [(String, @Sendable (String) -> Command)] {
            router.post("/v1/clusters/:name/\(verb)") { request, context in
                let name = try context.dnsLabelParameter("name", describedAs: "cluster name")
                try await Self.requireEmptyBody(request)
                return try await IntentSubmission.submit(make(name), gateway: gateway, request: request, context: context)
            }
        }
        router.delete("/v1/clusters/:name") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "cluster name")
            try await consistency.wait(for: request)
            // Nobody looks after a removed cluster: what runs there would be left behind. Drain it first.
            // `running`, not the division: a drained cluster keeps its old share until the replacements are ready.
            let holding = try await queries.placements().filter { ($0.running[name] ?? 0) > 0 }.map(\.service)
            if !holding.isEmpty {
                throw APIError(.conflict, "cluster \"\(name)\" still runs replicas of \(holding.prefix(5).joined(separator: ", "))\(holding.count > 5 ? " and \(holding.count - 5) more" : ""); drain it and wait until they have moved", field: "name")
            }
            return try await IntentSubmission.submit(Command(RemoveCluster(name: name)), gateway: gateway, request: request, context: context)
        }
    }

    /// One API server under two spellings: scheme and host compare without case, a trailing slash does not count.
    static func sameServer(_ a: String, _ b: String) -> Bool {
        func key(_ s: String) -> String {
            guard var c = URLComponents(string: s) else { return s }
            c.scheme = c.scheme?.lowercased(); c.host = c.host?.lowercased()
            if c.port == nil, c.scheme == "https" { c.port = 443 }
            if c.path.hasSuffix("/") { c.path.removeLast() }
            return c.string ?? s
        }
        return key(a) == key(b)
    }

    static let placeholderToken = SealedSecret(keyId: "check", combined: Data(count: 28)).text

    /// The API answers over HTTPS with this CA and lists nodes with this token, within 5 s.
    static func probe(_ spec: ClusterSpec, token: String) async throws {
        let client: KubernetesClient
        do { client = try KubernetesClient(apiServer: spec.apiServer, caBundle: spec.caBundle, token: token) } catch let f as KubernetesClient.Failure {
            throw APIError(.unprocessableContent, f.reason, field: f.field)
        }
        defer { Task { await client.shutdown() } }
        do { try await client.probe() } catch let f as KubernetesClient.Failure {
            throw APIError(.unprocessableContent, "the cluster was not registered: \(f.reason)", field: f.field)
        }
    }

    /// cordon/uncordon/drain take no body; anything sent is a mistake worth naming (an `{}` is fine).
    static func requireEmptyBody(_ request: Request) async throws {
        var request = request
        let body = try await request.collectBody(upTo: 1024)
        let text = String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.isEmpty || text == "{}" else { throw APIError(.badRequest, "this action takes no body (got \(body.readableBytes) bytes)") }
    }
}
