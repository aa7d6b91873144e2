import Commands
import EventLog
import Events
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Projections
import Workers

/// Operations on one pod of a service, each recorded in the log before anything happens:
/// - POST .../{pod}/recreate: the pod is deleted by the cluster worker; its Deployment starts a replacement.
/// - POST .../{pod}/debug {image, container?}: an ephemeral debug container, added by the cluster worker.
/// - POST .../{pod}/logs {container?, tailLines?, sinceSeconds?, follow?}: the pod's recent log, streamed as plain text
///   from the cluster's API by this process once the read is in the log.
/// - GET /v1/services/{name}/operations[/{id}]: every operation and its outcome (`pending`, `done`, `failed`, `cancelled`).
struct InstanceOperationRoutes {
    let gateway: CommandGateway
    let queries: ReadModelQueries
    let consistency: ConsistencyWait
    let secrets: SecretKeyring

    struct DebugBody: Decodable {
        var image: String
        var container: String?
        static let shape: [String: StrictJSON.Shape] = ["image": .value, "container": .value]
    }

    struct LogsBody: Decodable {
        var container: String?
        var tailLines: Int?
        var sinceSeconds: Int?
        var follow: Bool?
        static let shape: [String: StrictJSON.Shape] = ["container": .value, "tailLines": .value, "sinceSeconds": .value, "follow": .value]
    }

    /// A log read that names no bound gets the last 500 lines (what "recent" means here).
    static let defaultTailLines = 500

    func register(on router: RouteCollection<WharfRequestContext>) {
        router.post("/v1/services/:name/instances/:cluster/:pod/recreate") { request, context in
            let (name, cluster, pod) = try Self.target(context)
            var request = request
            try await Self.requireNoBody(&request)
            return try await IntentSubmission.submit(Command(RecreateInstance(name: name, cluster: cluster, pod: pod)), gateway: gateway,
                                                     request: request, context: context)
        }
        router.post("/v1/services/:name/instances/:cluster/:pod/debug") { request, context in
            let (name, cluster, pod) = try Self.target(context)
            var request = request
            let b = try await StrictJSON.decode(DebugBody.self, from: &request, shape: DebugBody.shape)
            let container = b.container ?? "debug-" + String(UUID().uuidString.lowercased().prefix(8))
            return try await IntentSubmission.submit(Command(AddDebugContainer(name: name, cluster: cluster, pod: pod, container: container,
                                                                               image: b.image)),
                                                     gateway: gateway, request: request, context: context)
        }
        router.post("/v1/services/:name/instances/:cluster/:pod/logs") { request, context in
            let (name, cluster, pod) = try Self.target(context)
            var request = request
            let b: LogsBody
            if try await request.collectBody(upTo: StrictJSON.maxBodyBytes).readableBytes == 0 {
                b = LogsBody()
            } else {
                b = try await StrictJSON.decode(LogsBody.self, from: &request, shape: LogsBody.shape)
            }
            let follow = b.follow ?? false
            let tail = b.tailLines ?? (b.sinceSeconds == nil ? Self.defaultTailLines : nil)
            return try await logs(ReadInstanceLogs(name: name, cluster: cluster, pod: pod, container: b.container, tailLines: tail,
                                                   sinceSeconds: b.sinceSeconds, follow: follow), request: request, context: context)
        }
        router.get("/v1/services/:name/operations") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "service name")
            let limit = try request.uri.queryParameters.get("limit").map { text -> Int in
                guard let n = Int(text), (1...1000).contains(n) else { throw APIError(.badRequest, "limit must be 1-1000", field: "limit") }
                return n
            } ?? 100
            try await consistency.wait(for: request)
            guard try await queries.service(named: name) != nil else { throw APIError(.notFound, "service \"\(name)\" does not exist") }
            return JSONResponse.raw(try await queries.instanceOperationsJSON(service: name, limit: limit) ?? #"{"items":[]}"#)
        }
        router.get("/v1/services/:name/operations/:id") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "service name")
            let id = try context.parameters.require("id")
            guard (1...200).contains(id.utf8.count) else { throw APIError(.badRequest, "id must be a command id", field: "id") }
            try await consistency.wait(for: request)
            guard let item = try await queries.instanceOperationsJSON(service: name, id: id) else {
                throw APIError(.notFound, "service \"\(name)\" has no operation \"\(id)\"")
            }
            return JSONResponse.raw(item)
        }
    }

    /// Records the read, then streams the log from the cluster's API (the cluster's token opened here, for this read only).
    private func logs(_ read: ReadInstanceLogs, request: Request, context: WharfRequestContext) async throws -> Response {
        // No Idempotency-Key: every read is recorded as one.
        let result = try await gateway.submit(Command(read), actor: try context.requireActor(),
                                              correlationId: try IntentSubmission.correlationId(of: request),
                                              authorizedLine: context.authorizedLine, idempotencyKey: nil)
        guard case .accepted = result.kind else { return try WriteResponse.make(result) }
        guard let cluster = try await queries.clusters(only: read.cluster).first else {
            throw APIError(.notFound, "cluster \"\(read.cluster)\" does not exist")
        }
        guard let service = try await queries.service(named: read.name) else { throw APIError(.notFound, "service \"\(read.name)\" does not exist") }
        let client: KubernetesClient
        do {
            let token = try secrets.open(cluster.sealedToken, service: ClusterSecrets.scope(cluster: cluster.name), variable: ClusterSecrets.variable)
            client = try KubernetesClient(apiServer: cluster.spec.apiServer, caBundle: cluster.spec.caBundle, token: token,
                                          readTimeout: read.follow ? nil : .seconds(30))
        } catch {
            throw APIError(.internalServerError, "the read was recorded, but cluster \(cluster.name)'s client cannot be made here: \(error)")
        }
        var query = ["container=\(read.container ?? ServiceObjects.containerName)", "timestamps=true"]
        if let n = read.tailLines { query.append("tailLines=\(n)") }
        if let n = read.sinceSeconds { query.append("sinceSeconds=\(n)") }
        if read.follow { query.append("follow=true") }
        let path = "/api/v1/namespaces/\(service.businessLine)/pods/\(read.pod)/log?" + query.joined(separator: "&")
        let answer: KubernetesClient.Stream
        do {
            answer = try await client.stream(path, timeout: read.follow ? .hours(1) : .seconds(30))
        } catch let f as KubernetesClient.Failure {
            await client.shutdown()
            // The API's 400 means the container cannot give a log now (waiting to start, or no such container).
            let status: HTTPResponse.Status = f.status == nil ? .badGateway : f.status == 404 ? .notFound : f.status == 400 ? .conflict : .badGateway
            throw APIError(status, "the read was recorded (command \(result.commandId)), but cluster \(cluster.name) gave no log: \(f.reason)")
        }
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"]
        headers[HTTPField.Name("Wharf-Command-Id")!] = result.commandId
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            do {
                try await answer.forEach { try await writer.write($0) }
                try await writer.finish(nil)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        })
    }

    private static func target(_ context: WharfRequestContext) throws -> (String, String, String) {
        (try context.dnsLabelParameter("name", describedAs: "service name"), try context.dnsLabelParameter("cluster", describedAs: "cluster name"),
         try context.parameters.require("pod"))
    }

    /// No body, or a JSON object without fields.
    private static func requireNoBody(_ request: inout Request) async throws {
        struct Nothing: Decodable {}
        if try await request.collectBody(upTo: 4096).readableBytes > 0 { _ = try await StrictJSON.decode(Nothing.self, from: &request, shape: [:]) }
    }
}
