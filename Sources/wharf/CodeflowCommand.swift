import ArgumentParser
import Foundation
import NIOHTTP1

struct CodeflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codeflow",
        abstract: "Define how a service is built from git, and start builds.",
        discussion: """
        A codeflow names a repository, the branches that build (globs), a build script (run with /bin/sh -e in a scratch checkout, \
        as an unprivileged user), the artifact it leaves, the start command and the base image. A GitLab or GitHub push to a \
        matching branch (POST /v1/webhooks/gitlab or /v1/webhooks/github with the codeflow's webhook secret) builds an image, \
        pushes it to the registry and upgrades the service to its digest. See `wharf build` for the builds.
        """,
        subcommands: [Put.self, List.self, Get.self, Build.self])

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or change a codeflow (owners of the service's business line).")
        @Argument(help: "Codeflow name: a DNS-1123 label.") var name: String
        @Option(help: "The service it builds (cannot change later).") var service: String
        @Option(help: "Repository: http(s)://, ssh://, git://, user@host:path or file:///path.") var repository: String
        @Option(help: "Branch glob that builds (repeatable; * within a segment, ** across): main, release/*.") var branch: [String] = ["main"]
        @Option(help: "File holding the build script ('-' for stdin).") var buildScriptFile: String
        @Option(help: "What the script leaves for the image, relative to the checkout (file or directory).") var artifactPath: String
        @Option(help: "The container's command (run by /bin/sh -c in /app).") var startCommand: String
        @Option(help: "Base image with its registry, e.g. 127.0.0.1:5000/wharf/base:busybox (ops/run makes that one).") var baseImage: String
        @Option(help: "File holding a Dockerfile to use instead of the generated one (built in the checkout).") var dockerfileFile: String?
        @Option(help: "File holding a preprocess script: installs dependencies into a layer reused while unchanged.") var preprocessScriptFile: String?
        @Option(help: "File of the checkout the preprocess script reads (repeatable); part of its cache key.") var dependencyFile: [String] = []
        @Option(help: "The build script's time limit in seconds (10-7200, default 1800).") var timeoutSeconds: Int?
        @Option(help: "Builds of this codeflow that may run at once across all nodes (1-64; default: only the nodes' build slots limit them).")
        var parallelism: Int?
        @Option(help: "File holding the webhook secret ('-' for stdin): required the first time, kept when not given.") var webhookSecretFile: String?
        @OptionGroup var api: APIOptions

        func run() async throws {
            var body: [String: Any] = ["service": service, "repository": repository, "branches": branch,
                                       "buildScript": try readText(buildScriptFile, what: "--build-script-file"),
                                       "artifactPath": artifactPath, "startCommand": startCommand, "baseImage": baseImage]
            if let f = dockerfileFile { body["dockerfile"] = try readText(f, what: "--dockerfile-file") }
            if let f = preprocessScriptFile { body["preprocessScript"] = try readText(f, what: "--preprocess-script-file") }
            if !dependencyFile.isEmpty { body["dependencyFiles"] = dependencyFile }
            if let t = timeoutSeconds { body["timeoutSeconds"] = t }
            if let p = parallelism { body["parallelism"] = p }
            if let f = webhookSecretFile { body["webhookSecret"] = try readSecretValue(f) }
            try await write(api, .PUT, "/v1/codeflows/\(percentEncoded(name))", body: body, idempotencyKey: nil)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List codeflows (of your lines, unless you hold a platform role).")
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/codeflows")
            printItems(response, as: api.output, columns: [("NAME", "name"), ("SERVICE", "service"), ("REPOSITORY", "repository"),
                                                           ("BRANCHES", "branches"), ("REVISION", "revision")])
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one codeflow (never its webhook secret).")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            print(TableOutput.prettyJSON(try await api.client().call(.GET, "/v1/codeflows/\(percentEncoded(name))").body))
        }
    }

    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a build of a branch, tag or refs/... now (developers of the line).")
        @Argument var name: String
        @Option(help: "Branch, tag or refs/... to build.") var ref: String = "main"
        @Flag(help: "Follow the build's log until it ends.") var follow = false
        @Option(help: "Idempotency key: a retry with the same key is answered with the first build.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().send(.POST, "/v1/codeflows/\(percentEncoded(name))/builds", body: ["ref": ref],
                                                        headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
            let object = response.json as? [String: Any] ?? [:]
            let id = ((object["events"] as? [[String: Any]])?.first?["payload"] as? [String: Any])?["id"] as? String
            guard (200..<300).contains(response.status), let id else {
                throw APIFailure(status: response.status, reason: (object["reason"] as? String) ?? (object["error"] as? String) ?? "no build was queued")
            }
            if api.output == .json { print(TableOutput.prettyJSON(response.body)) } else { print("build \(id) queued") }
            if follow { try await BuildCommand.followLog(api, id: id) }
        }
    }
}

/// Text of a file, or of stdin for "-".
func readText(_ source: String, what: String) throws -> String {
    let data: Data
    if source == "-" { data = FileHandle.standardInput.readDataToEndOfFile() } else {
        guard let d = FileManager.default.contents(atPath: source) else { throw ValidationError("\(what): cannot read \(source)") }
        data = d
    }
    guard let text = String(data: data, encoding: .utf8) else { throw ValidationError("\(what): \(source) is not UTF-8") }
    return text
}
