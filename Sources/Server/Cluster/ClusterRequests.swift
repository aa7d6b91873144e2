import Events

/// POST /v1/clusters
struct RegisterClusterRequest: Decodable {
    var name: String
    var apiServer: String
    var caBundle: String?
    var token: String
    var environment: String
    var region: String?
    var labels: [String: String]?

    static let shape: [String: StrictJSON.Shape] = [
        "name": .value, "apiServer": .value, "caBundle": .value, "token": .value, "environment": .value, "region": .value, "labels": .value,
    ]
}
