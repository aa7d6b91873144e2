import ArgumentParser
import Foundation
import NIOHTTP1

struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Create, change and inspect services through the Wharf API.",
        subcommands: [Create.self, List.self, Get.self, Scale.self, Upgrade.self, Rollback.self, Revisions.self, Delete.self,
                      SetSecret.self, UnsetSecret.self, RevealSecret.self, Place.self, Placement.self, Instances.self, History.self, Rollout.self, Rotation.self,
                      Recreate.self, Debug.self, Logs.self, Operations.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a service (revision 1).")
        @Argument(help: "Service name: a DNS-1123 label, e.g. payments-api.") var name: String
        @Option(help: "Business line that owns the service (DNS-1123 label).") var businessLine: String
        @Option(help: "Container image, e.g. registry.example.com/team/app:1.0.") var image: String
        @Option(help: "Number of replicas (0-1000).") var replicas: Int = 1
        @Option(help: "Environment variable KEY=VALUE (repeatable).") var env: [String] = []
        @Option(help: ArgumentHelp("Secret variable KEY=FILE: the value is read from FILE ('-' for stdin), sealed by the server and shown masked from then on (repeatable).",
                                   valueName: "key=file")) var secretEnvFile: [String] = []
        @Option(help: "Container port, e.g. 8080 or 53/UDP (repeatable).") var port: [String] = []
        @Option(help: "HTTP health-check path, e.g. /healthz (needs --health-port).") var healthPath: String?
        @Option(help: "Health-check port.") var healthPort: Int?
        @Option(help: "Public domain, e.g. payments.example.com.") var domain: String?
        @Option(help: "Idempotency key: a retry with the same key is answered with the first outcome.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions

        func run() async throws {
            var body: [String: Any] = ["name": name, "businessLine": businessLine, "image": image, "replicas": replicas]
            if !env.isEmpty {
                var vars: [String: String] = [:]
                for pair in env {
                    guard let eq = pair.firstIndex(of: "=") else { throw ValidationError("--env must be KEY=VALUE (got \"\(pair)\")") }
                    vars[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
                }
                body["env"] = vars
            }
            if !secretEnvFile.isEmpty {
                var vars: [String: String] = [:]
                for pair in secretEnvFile {
                    guard let eq = pair.firstIndex(of: "=") else { throw ValidationError("--secret-env-file must be KEY=FILE (got \"\(pair)\")") }
                    vars[String(pair[..<eq])] = try readSecretValue(String(pair[pair.index(after: eq)...]))
                }
                body["secretEnv"] = vars
            }
            if !port.isEmpty {
                body["ports"] = try port.map { spec -> [String: Any] in
                    let parts = spec.split(separator: "/")
                    guard let number = Int(parts[0]), parts.count <= 2 else { throw ValidationError("--port must be like 8080 or 53/UDP (got \"\(spec)\")") }
                    return ["containerPort": number, "protocol": parts.count == 2 ? parts[1].uppercased() : "TCP"]
                }
            }
            if let healthPath {
                guard let healthPort else { throw ValidationError("--health-path needs --health-port") }
                body["healthCheck"] = ["path": healthPath, "port": healthPort]
            }
            if let domain { body["domain"] = domain }
            try await write(api, .POST, "/v1/services", body: body, idempotencyKey: idempotencyKey)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List services.")
        @Option(help: "Only services of this business line.") var businessLine: String?
        @OptionGroup var api: APIOptions

        func run() async throws {
            let query = businessLine.map { "?businessLine=\(percentEncoded($0))" } ?? ""
            let response = try await api.client().call(.GET, "/v1/services" + query)
            printItems(response, as: api.output, columns: [("NAME", "name"), ("BUSINESS LINE", "businessLine"), ("IMAGE", "image"),
                                                           ("REPLICAS", "replicas"), ("REVISION", "revision"), ("STATUS", "status")])
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one service.")
        @Argument var name: String
        @OptionGroup var api: APIOptions

        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/services/\(percentEncoded(name))")
            if api.output == .json { print(TableOutput.prettyJSON(response.body)); return }
            let s = (response.json as? [String: Any]) ?? [:]
            var rows = ["name", "businessLine", "status", "image", "replicas", "revision", "domain", "createdBy", "createdAt",
                        "updatedBy", "updatedAt", "position"].map { [$0, string(s[$0])] }
            if let secrets = s["secretEnv"] as? [String: Any], !secrets.isEmpty {
                rows.append(["secretEnv", secrets.keys.sorted().map { "\($0)=\(string(secrets[$0]))" }.joined(separator: " ")])
            }
            print(TableOutput.render(["FIELD", "VALUE"], rows))
        }
    }

    struct Scale: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a service's replica count (not a new revision).")
        @Argument var name: String
        @Option(help: "Number of replicas (0-1000).") var replicas: Int
        @Option(help: "Idempotency key.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .POST, "/v1/services/\(percentEncoded(name))/scale", body: ["replicas": replicas], idempotencyKey: idempotencyKey)
        }
    }

    struct Upgrade: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a new image (a new revision).")
        @Argument var name: String
        @Option(help: "New container image.") var image: String
        @Option(help: "Idempotency key.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .POST, "/v1/services/\(percentEncoded(name))/upgrade", body: ["image": image], idempotencyKey: idempotencyKey)
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore the template of revision N (as a new revision).")
        @Argument var name: String
        @Option(help: "Revision to restore.") var revision: Int
        @Option(help: "Idempotency key.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .POST, "/v1/services/\(percentEncoded(name))/rollback", body: ["revision": revision], idempotencyKey: idempotencyKey)
        }
    }

    struct Revisions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a service's revisions.")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/services/\(percentEncoded(name))/revisions")
            printItems(response, as: api.output, columns: [("REVISION", "revision"), ("CAUSE", "cause"), ("IMAGE", "image"),
                                                           ("ROLLED BACK TO", "rolledBackTo"), ("ACTOR", "actor"), ("TIME", "time")])
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Destroy a service (its name and history stay reserved).")
        @Argument var name: String
        @Option(help: "Idempotency key.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .DELETE, "/v1/services/\(percentEncoded(name))", body: nil, idempotencyKey: idempotencyKey)
        }
    }
}

extension ServiceCommand {
    struct SetSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-secret",
            abstract: "Set one secret variable of a service (a new revision).",
            discussion: "The value is read from --value-file or stdin, never from the command line (which shells keep in history and ps shows). The server seals it (AES-GCM) before it reaches the log; reads show it masked.")
        @Argument(help: "Service name.") var name: String
        @Argument(help: "Variable name ([A-Za-z_][A-Za-z0-9_]*).") var variable: String
        @Option(help: "File holding the value ('-' or absent: stdin). A single trailing newline is dropped.") var valueFile: String = "-"
        @Option(help: "Idempotency key.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .PATCH, "/v1/services/\(percentEncoded(name))", body: ["secretEnv": [variable: try readSecretValue(valueFile)]],
                            idempotencyKey: idempotencyKey)
        }
    }

    struct UnsetSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unset-secret", abstract: "Remove secret variables of a service (a new revision).")
        @Argument(help: "Service name.") var name: String
        @Argument(help: "Variable names.") var variables: [String]
        @Option(help: "Idempotency key.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .PATCH, "/v1/services/\(percentEncoded(name))", body: ["removeSecretEnv": variables], idempotencyKey: idempotencyKey)
        }
    }

    struct RevealSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reveal-secret",
            abstract: "Print a secret variable's value (owners of the service's line; every reveal is recorded in the audit).")
        @Argument(help: "Service name.") var name: String
        @Argument(help: "Variable name.") var variable: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().send(.POST, "/v1/services/\(percentEncoded(name))/secret-env/\(percentEncoded(variable))/reveal")
            let object = (response.json as? [String: Any]) ?? [:]
            guard response.status == 200, let value = object["value"] as? String else {
                let reason = (object["reason"] as? String) ?? (object["error"] as? String) ?? String(decoding: response.body, as: UTF8.self)
                FileHandle.standardError.write(Data("error: HTTP \(response.status): \(reason)\n".utf8))
                throw ExitCode(1)
            }
            if api.output == .json { print(TableOutput.prettyJSON(response.body)) } else { print(value) }
        }
    }
}

/// A secret value from a file or stdin ("-"), without the one newline editors and `echo` add.
func readSecretValue(_ source: String) throws -> String {
    let data: Data
    if source == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let read = FileManager.default.contents(atPath: source) else { throw ValidationError("cannot read the secret value file \(source)") }
        data = read
    }
    guard var text = String(data: data, encoding: .utf8) else { throw ValidationError("the secret value in \(source) is not UTF-8") }
    if text.hasSuffix("\n") { text.removeLast() }
    return text
}

/// Sends a write and prints its outcome; a rejected intent exits non-zero with the decider's reason (an unchanged one,
/// whose desired state held already, exits 0).
func write(_ api: APIOptions, _ method: HTTPMethod, _ path: String, body: [String: Any]?, idempotencyKey: String?) async throws {
    try await write(api, try await api.client().send(method, path, body: body, headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:]))
}

/// Prints a write's answer as `write` does.
func write(_ api: APIOptions, _ response: APIResponse) async throws {
    let object = (response.json as? [String: Any]) ?? [:]
    if api.output == .json {
        print(TableOutput.prettyJSON(response.body))
    } else if let outcome = object["outcome"] as? String {
        let events = ((object["events"] as? [[String: Any]]) ?? []).map { string($0["type"]) }.joined(separator: ", ")
        switch outcome {
        case "accepted": print("accepted: \(events) (position \(string(object["position"])))")
        case "unchanged": print("unchanged: \(string(object["reason"])) (position \(string(object["position"])))")
        case "rejected": print("rejected (\(string(object["code"]))): \(string(object["reason"])) (position \(string(object["position"])))")
        default: print("\(outcome): \(string(object["reason"]))")
        }
    }
    guard (200..<300).contains(response.status) else {
        let reason = (object["reason"] as? String) ?? (object["error"] as? String) ?? String(decoding: response.body, as: UTF8.self)
        if object["outcome"] == nil { FileHandle.standardError.write(Data("error: HTTP \(response.status): \(reason)\n".utf8)) }
        throw ExitCode(1)
    }
}
