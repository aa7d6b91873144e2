import Commands
import Events
import Foundation
import HTTPTypes
import Hummingbird
import Projections

/// /v1/nginx: clusters, nodes, sites, upstreams, versions, rollback and per-node status for the portal, and the
/// endpoints node agents pull their desired config from and report to.
struct NginxRoutes {
    let gateway: CommandGateway
    let queries: ReadModelQueries
    let consistency: ConsistencyWait
    let tokens: TokenStore

    func register(on router: RouteCollection<WharfRequestContext>) {
        router.post("/v1/nginx/clusters") { request, context in
            var request = request
            let b = try await StrictJSON.decode(CreateNginxClusterRequest.self, from: &request, shape: CreateNginxClusterRequest.shape)
            let command = Command(CreateNginxCluster(
                name: b.name, environment: try environment(b.environment), nodes: b.nodes ?? [], upstreams: b.upstreams ?? [],
                sites: b.sites ?? [], testDomain: b.testDomain, reason: b.reason))
            return try await submit(command, request, context, created: true)
        }
        router.get("/v1/nginx/clusters") { request, _ in
            try await consistency.wait(for: request)
            return JSONResponse.raw(try await queries.nginxClusters())
        }
        router.get("/v1/nginx/clusters/:cluster") { request, context in
            let cluster = try name(context, "cluster")
            try await consistency.wait(for: request)
            guard let json = try await queries.nginxCluster(named: cluster) else { throw noCluster(cluster) }
            return JSONResponse.raw(json)
        }
        router.post("/v1/nginx/clusters/:cluster/nodes") { request, context in
            let cluster = try name(context, "cluster")
            var request = request
            let b = try await StrictJSON.decode(NginxNodeRequest.self, from: &request, shape: NginxNodeRequest.shape)
            return try await submit(Command(AddNginxNode(cluster: cluster, node: NginxNode(name: b.name, listenAddress: b.listenAddress))),
                                    request, context, created: true)
        }
        router.get("/v1/nginx/clusters/:cluster/nodes") { request, context in
            let cluster = try name(context, "cluster")
            try await consistency.wait(for: request)
            guard let json = try await queries.nginxNodes(of: cluster) else { throw noCluster(cluster) }
            return JSONResponse.raw(json)
        }
        router.delete("/v1/nginx/clusters/:cluster/nodes/:node") { request, context in
            let cluster = try name(context, "cluster"), node = try name(context, "node")
            return try await submit(Command(RemoveNginxNode(cluster: cluster, node: node)), request, context)
        }
        router.post("/v1/nginx/clusters/:cluster/nodes/:node/token") { request, context in
            let cluster = try name(context, "cluster"), node = try name(context, "node")
            try await consistency.wait(for: request)
            guard case .noSuchNode = try await queries.nginxDesired(cluster: cluster, node: node) else {
                let actor = Self.agentActor(cluster: cluster, node: node)
                let token = try await tokens.issue(name: "nginx-agent:\(cluster)/\(node)", actor: actor, role: "agent")
                return try JSONResponse.make(["token": token, "actor": actor], status: .created)
            }
            throw APIError(.notFound, "cluster \"\(cluster)\" has no node \"\(node)\" (add it first)")
        }
        router.put("/v1/nginx/clusters/:cluster/upstreams/:name") { request, context in
            let cluster = try name(context, "cluster"), upstream = try name(context, "name")
            var request = request
            let b = try await StrictJSON.decode(PutUpstreamRequest.self, from: &request, shape: PutUpstreamRequest.shape)
            return try await submit(Command(PutNginxUpstream(cluster: cluster, upstream: NginxUpstream(name: upstream, servers: b.servers),
                                                                       reason: b.reason)), request, context)
        }
        router.delete("/v1/nginx/clusters/:cluster/upstreams/:name") { request, context in
            let cluster = try name(context, "cluster"), upstream = try name(context, "name")
            return try await submit(Command(DeleteNginxUpstream(cluster: cluster, name: upstream,
                                                                             reason: request.uri.queryParameters.get("reason"))), request, context)
        }
        router.put("/v1/nginx/clusters/:cluster/sites/:name") { request, context in
            let cluster = try name(context, "cluster"), site = try name(context, "name")
            var request = request
            let b = try await StrictJSON.decode(PutSiteRequest.self, from: &request, shape: PutSiteRequest.shape)
            let value = NginxSite(name: site, serverNames: b.serverNames, listen: b.listen, tls: b.tls, locations: b.locations, healthCheck: b.healthCheck)
            return try await submit(Command(PutNginxSite(cluster: cluster, site: value, reason: b.reason)), request, context)
        }
        router.delete("/v1/nginx/clusters/:cluster/sites/:name") { request, context in
            let cluster = try name(context, "cluster"), site = try name(context, "name")
            return try await submit(Command(DeleteNginxSite(cluster: cluster, name: site, reason: request.uri.queryParameters.get("reason"))),
                                    request, context)
        }
        router.get("/v1/nginx/clusters/:cluster/versions") { request, context in
            let cluster = try name(context, "cluster")
            try await consistency.wait(for: request)
            guard let json = try await queries.nginxVersions(of: cluster) else { throw noCluster(cluster) }
            return JSONResponse.raw(json)
        }
        router.get("/v1/nginx/clusters/:cluster/versions/:version") { request, context in
            let cluster = try name(context, "cluster"), number = try version(context.parameters.get("version"), "version")
            try await consistency.wait(for: request)
            guard let json = try await queries.nginxVersion(of: cluster, number: number) else {
                throw APIError(.notFound, "cluster \"\(cluster)\" has no version \(number)")
            }
            return JSONResponse.raw(json)
        }
        router.get("/v1/nginx/clusters/:cluster/diff") { request, context in
            let cluster = try name(context, "cluster")
            let from = try version(request.uri.queryParameters.get("from"), "from"), to = try version(request.uri.queryParameters.get("to"), "to")
            try await consistency.wait(for: request)
            guard let a = try await queries.nginxVersionText(of: cluster, number: from) else {
                throw APIError(.notFound, "cluster \"\(cluster)\" has no version \(from)", field: "from")
            }
            guard let b = try await queries.nginxVersionText(of: cluster, number: to) else {
                throw APIError(.notFound, "cluster \"\(cluster)\" has no version \(to)", field: "to")
            }
            let diff = UnifiedDiff.make(from: a, to: b, oldLabel: "version \(from)", newLabel: "version \(to)")
            return try JSONResponse.make(["cluster": cluster, "from": String(from), "to": String(to), "diff": diff])
        }
        router.post("/v1/nginx/clusters/:cluster/rollback") { request, context in
            let cluster = try name(context, "cluster")
            var request = request
            let b = try await StrictJSON.decode(NginxRollbackRequest.self, from: &request, shape: NginxRollbackRequest.shape)
            // The version's content rides along: the processor keeps whole texts of recent versions only, and checks
            // this content against the hashes it recorded. A version not projected yet goes without; the decider
            // then answers from what it kept, or refuses.
            let content = b.version >= 1 ? try await queries.nginxVersionContent(of: cluster, number: b.version) : nil
            return try await submit(Command(RollbackNginxConfig(cluster: cluster, version: b.version, reason: b.reason, content: content)),
                                    request, context)
        }

        // Node agents: each pulls and reports for its own node only.
        router.get("/v1/nginx/agent/clusters/:cluster/nodes/:node/desired") { _, context in
            let (cluster, node) = try agentNode(context)
            switch try await queries.nginxDesired(cluster: cluster, node: node) {
            case .noSuchNode: throw APIError(.notFound, "cluster \"\(cluster)\" has no node \"\(node)\"")
            case .noValidVersion: throw APIError(.notFound, "cluster \"\(cluster)\" has no version that passed nginx -t yet")
            case .desired(let d):
                let text = NginxRenderer.nodeText(d.text, listenAddress: d.listenAddress)
                return try JSONResponse.make(NginxDesiredResponse(cluster: cluster, node: node, version: d.version,
                                                                  sha256: NginxDecider.sha256(text), text: text, clusterText: d.text,
                                                                  listenAddress: d.listenAddress, signature: d.signature))
            }
        }
        router.post("/v1/nginx/agent/clusters/:cluster/nodes/:node/reports") { request, context in
            let (cluster, node) = try agentNode(context)
            var request = request
            let b = try await StrictJSON.decode(NginxReportRequest.self, from: &request, shape: NginxReportRequest.shape)
            guard let outcome = NginxNodeOutcome(rawValue: b.outcome) else {
                throw APIError(.unprocessableContent, "outcome must be applied, failed or drift", field: "outcome")
            }
            return try await submit(Command(RecordNginxNodeReport(cluster: cluster, node: node, version: b.version, outcome: outcome,
                                                                                 message: b.message, liveSha256: b.liveSha256)), request, context)
        }
    }

    static func agentActor(cluster: String, node: String) -> String { "agent:nginx/\(cluster)/\(node)" }

    /// The agent endpoints answer only the node's own agent (and admins, for debugging).
    private func agentNode(_ context: WharfRequestContext) throws -> (String, String) {
        let cluster = try name(context, "cluster"), node = try name(context, "node")
        guard context.actor == Self.agentActor(cluster: cluster, node: node) || context.principal?.has(.admin) == true else {
            throw APIError(.forbidden, "this token is not the agent token of node \"\(node)\" of cluster \"\(cluster)\"")
        }
        return (cluster, node)
    }

    private func name(_ context: WharfRequestContext, _ parameter: String) throws -> String {
        try context.dnsLabelParameter(parameter)
    }

    private func version(_ text: String?, _ field: String) throws -> Int {
        guard let text, let n = Int(text), n >= 1 else { throw APIError(.badRequest, "\(field) must be a version number (1 or more)", field: field) }
        return n
    }

    private func noCluster(_ cluster: String) -> APIError { APIError(.notFound, "nginx cluster \"\(cluster)\" does not exist") }

    private func submit(_ command: Command, _ request: Request, _ context: WharfRequestContext, created: Bool = false) async throws -> Response {
        try await IntentSubmission.submit(command, gateway: gateway, request: request, context: context, created: created)
    }
}
