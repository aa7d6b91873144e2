import Events

/// Request bodies of the Nginx routes and the fields each may carry (anything else is a 422).
enum NginxShapes {
    static let node: StrictJSON.Shape = .object(["name": .value, "listenAddress": .value])
    static let server: StrictJSON.Shape = .object(["address": .value, "service": .value, "weight": .value, "maxFails": .value,
                                                   "failTimeoutSeconds": .value, "backup": .value, "down": .value])
    static let upstream: StrictJSON.Shape = .object(["name": .value, "servers": .array(server)])
    static let match: StrictJSON.Shape = .object(["name": .value, "value": .value])
    static let canary: StrictJSON.Shape = .object(["upstream": .value, "weightPercent": .value, "header": match, "cookie": match])
    static let location: StrictJSON.Shape = .object(["path": .value, "upstream": .value, "canary": canary])
    static let tls: StrictJSON.Shape = .object(["certificate": .value, "key": .value])
    static let healthCheck: StrictJSON.Shape = .object(["nextUpstreamOn": .array(.value), "tries": .value, "connectTimeoutSeconds": .value])
    static let siteFields: [String: StrictJSON.Shape] = ["serverNames": .array(.value), "listen": .value, "tls": tls,
                                                         "locations": .array(location), "healthCheck": healthCheck]
    static let site: StrictJSON.Shape = .object(siteFields.merging(["name": .value]) { a, _ in a })
}

func environment(_ value: String) throws -> NginxEnvironment {
    guard let e = NginxEnvironment(rawValue: value) else {
        throw APIError(.unprocessableContent, "environment must be \"test\" or \"prod\" (got \"\(value.prefix(40))\")", field: "environment")
    }
    return e
}

struct CreateNginxClusterRequest: Decodable {
    var name: String
    var environment: String
    var nodes: [NginxNode]?
    var upstreams: [NginxUpstream]?
    var sites: [NginxSite]?
    var testDomain: NginxTestDomain?
    var reason: String?
    static let shape: [String: StrictJSON.Shape] = [
        "name": .value, "environment": .value, "nodes": .array(NginxShapes.node), "upstreams": .array(NginxShapes.upstream),
        "sites": .array(NginxShapes.site), "testDomain": .object(["wildcard": .value, "listen": .value]), "reason": .value,
    ]
}

struct NginxNodeRequest: Decodable {
    var name: String
    var listenAddress: String?
    static let shape: [String: StrictJSON.Shape] = ["name": .value, "listenAddress": .value]
}

struct PutUpstreamRequest: Decodable {
    var servers: [NginxUpstreamServer]
    var reason: String?
    static let shape: [String: StrictJSON.Shape] = ["servers": .array(NginxShapes.server), "reason": .value]
}

struct PutSiteRequest: Decodable {
    var serverNames: [String]
    var listen: Int
    var tls: NginxTLS?
    var locations: [NginxLocation]
    var healthCheck: NginxHealthCheck?
    var reason: String?
    static let shape: [String: StrictJSON.Shape] = NginxShapes.siteFields.merging(["reason": .value]) { a, _ in a }
}

struct NginxRollbackRequest: Decodable {
    var version: Int
    var reason: String?
    static let shape: [String: StrictJSON.Shape] = ["version": .value, "reason": .value]
}

struct NginxReportRequest: Decodable {
    var version: Int
    var outcome: String
    var message: String
    var liveSha256: String?
    static let shape: [String: StrictJSON.Shape] = ["version": .value, "outcome": .value, "message": .value, "liveSha256": .value]
}

/// The node's desired config, as the agent pulls it.
struct NginxDesiredResponse: Encodable {
    var cluster: String
    var node: String
    var version: Int
    var sha256: String
    var text: String
    /// What the signature covers: the cluster's text (the node's is rendered from it with `listenAddress`).
    var clusterText: String
    var listenAddress: String?
    var signature: String?
}
