import Events

/// PUT /v1/codeflows/{name}: the whole definition. `webhookSecret` is required the first time and kept when absent later.
struct PutCodeflowRequest: Decodable {
    var service: String
    var repository: String
    var branches: [String]
    var buildScript: String
    var artifactPath: String
    var startCommand: String
    var baseImage: String
    var dockerfile: String?
    var preprocessScript: String?
    var dependencyFiles: [String]?
    var timeoutSeconds: Int?
    var parallelism: Int?
    var webhookSecret: String?

    static let shape: [String: StrictJSON.Shape] = [
        "service": .value, "repository": .value, "branches": .array(.value), "buildScript": .value, "artifactPath": .value,
        "startCommand": .value, "baseImage": .value, "dockerfile": .value, "preprocessScript": .value, "dependencyFiles": .array(.value),
        "timeoutSeconds": .value, "parallelism": .value, "webhookSecret": .value,
    ]

    var spec: CodeflowSpec {
        CodeflowSpec(service: service, repository: repository, branches: branches, buildScript: buildScript, artifactPath: artifactPath,
                     startCommand: startCommand, baseImage: baseImage, dockerfile: dockerfile, preprocessScript: preprocessScript,
                     dependencyFiles: dependencyFiles, timeoutSeconds: timeoutSeconds, parallelism: parallelism)
    }
}

/// POST /v1/codeflows/{name}/builds
struct TriggerBuildRequest: Decodable {
    var ref: String
    static let shape: [String: StrictJSON.Shape] = ["ref": .value]
}
