import ArgumentParser
import Foundation
import NIOHTTP1

struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Register the Kubernetes clusters services run on; cordon, drain and retire them (admins and operators).",
        discussion: """
        A registration is checked first: the API server must answer over HTTPS, trusting --ca-file (or the system trust store), and \
        list nodes with the token, or nothing is recorded. The token is sealed at once and never shown again. To try Wharf without a \
        cluster, `ops/kube-sim start PORT DIR` runs the simulated Kubernetes API of the tests and writes DIR/token and DIR/ca.crt.
        """,
        subcommands: [Register.self, List.self, Get.self, Cordon.self, Uncordon.self, Drain.self, Remove.self])

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a cluster (checked against its API first).")
        @Argument(help: "Cluster name: a DNS-1123 label.") var name: String
        @Option(help: "The API server: https://host[:port][/path].") var apiServer: String
        @Option(help: "PEM file of the CA that signs the API server's certificate (default: the system trust store).") var caFile: String?
        @Option(help: "File holding the bearer token ('-' for stdin; never on the command line).") var tokenFile: String
        @Option(help: "test or prod.") var environment: String
        @Option(help: "Region (a DNS label).") var region: String?
        @Option(help: "A label KEY=VALUE that placement selectors match (repeatable).") var label: [String] = []
        @OptionGroup var api: APIOptions

        func run() async throws {
            var labels: [String: String] = [:]
            for entry in label {
                guard let eq = entry.firstIndex(of: "=") else { throw ValidationError("--label: \(entry) is not KEY=VALUE") }
                labels[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
            }
            var body: [String: Any] = ["name": name, "apiServer": apiServer, "token": try readSecretValue(tokenFile), "environment": environment,
                                       "labels": labels]
            if let caFile { body["caBundle"] = try readText(caFile, what: "--ca-file") }
            if let region { body["region"] = region }
            try await write(api, .POST, "/v1/clusters", body: body, idempotencyKey: nil)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered clusters.")
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/clusters")
            printItems(response, as: api.output, columns: [("NAME", "name"), ("ENVIRONMENT", "environment"), ("REGION", "region"),
                                                           ("SCHEDULING", "scheduling"), ("HEALTHY", "healthy"), ("API SERVER", "apiServer")])
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one cluster, with its last recorded health (never its token).")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            print(TableOutput.prettyJSON(try await api.client().call(.GET, "/v1/clusters/\(percentEncoded(name))").body))
        }
    }

    struct Cordon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Place nothing new on the cluster; what runs there stays.")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws { try await write(api, .POST, "/v1/clusters/\(percentEncoded(name))/cordon", body: [:], idempotencyKey: nil) }
    }

    struct Uncordon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let new replicas go to the cluster again (ends a drain).")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws { try await write(api, .POST, "/v1/clusters/\(percentEncoded(name))/uncordon", body: [:], idempotencyKey: nil) }
    }

    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark the cluster draining (cordoned, to be emptied).",
            discussion: "The placement scheduler moves the cluster's shares to the other clusters at once; its pods keep running and stay in the upstreams until their replacements are ready, then they are pruned. `uncordon` brings it back.")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws { try await write(api, .POST, "/v1/clusters/\(percentEncoded(name))/drain", body: [:], idempotencyKey: nil) }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Retire the cluster.")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws { try await write(api, .DELETE, "/v1/clusters/\(percentEncoded(name))", body: nil, idempotencyKey: nil) }
    }
}
