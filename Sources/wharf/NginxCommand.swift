import ArgumentParser
import Foundation
import NIOHTTP1

/// `wharf nginx ...`: clusters, nodes, sites, upstreams, versions and rollback through the API. Sites, upstreams and
/// clusters are given as JSON files in the API's request shape (see schemas/openapi.yaml).
struct NginxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nginx",
        abstract: "Manage Nginx clusters: sites, upstreams, versions, rollback, per-node status.",
        subcommands: [Clusters.self, Show.self, Create.self, AddNode.self, NodeToken.self, PutSite.self, PutUpstream.self,
                      Versions.self, Version.self, Diff.self, Rollback.self, Nodes.self])

    static func body(file: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read --file \(file)") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("--file \(file) must hold a JSON object")
        }
        return object
    }

    static func show(_ response: APIResponse) { print(TableOutput.prettyJSON(response.body)) }

    struct Clusters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List clusters.")
        @OptionGroup var api: APIOptions
        func run() async throws {
            _ = printItems(try await api.client().call(.GET, "/v1/nginx/clusters"), as: api.output,
                           columns: [("NAME", "name"), ("ENV", "environment"), ("NODES", "nodes"), ("SITES", "sites"),
                                     ("LATEST", "latestVersion"), ("DESIRED", "desiredVersion")])
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a cluster: nodes, upstreams, sites, members and node status (JSON).")
        @Argument(help: "Cluster name.") var cluster: String
        @OptionGroup var api: APIOptions
        func run() async throws { NginxCommand.show(try await api.client().call(.GET, "/v1/nginx/clusters/\(percentEncoded(cluster))")) }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a cluster from a JSON file {name, environment, nodes, upstreams, sites, testDomain, reason}.")
        @Option(help: "JSON file with the cluster.") var file: String
        @OptionGroup var api: APIOptions
        func run() async throws { try await write(api, .POST, "/v1/nginx/clusters", body: try NginxCommand.body(file: file), idempotencyKey: nil) }
    }

    struct AddNode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-node", abstract: "Add a node to a cluster.")
        @Argument(help: "Cluster name.") var cluster: String
        @Argument(help: "Node name.") var node: String
        @Option(help: "IP the node binds its listens at (default: all addresses).") var listenAddress: String?
        @OptionGroup var api: APIOptions
        func run() async throws {
            var body: [String: Any] = ["name": node]
            if let listenAddress { body["listenAddress"] = listenAddress }
            try await write(api, .POST, "/v1/nginx/clusters/\(percentEncoded(cluster))/nodes", body: body, idempotencyKey: nil)
        }
    }

    struct NodeToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "node-token",
                                                        abstract: "Issue (or re-issue, revoking the old one) a node's agent token. Admin only.")
        @Argument(help: "Cluster name.") var cluster: String
        @Argument(help: "Node name.") var node: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.POST, "/v1/nginx/clusters/\(percentEncoded(cluster))/nodes/\(percentEncoded(node))/token")
            if api.output == .json { NginxCommand.show(response) } else { print(string((response.json as? [String: Any])?["token"])) }
        }
    }

    struct PutSite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "put-site",
                                                        abstract: "Create or replace a site from a JSON file {serverNames, listen, tls, locations, healthCheck, reason}.")
        @Argument(help: "Cluster name.") var cluster: String
        @Argument(help: "Site name.") var site: String
        @Option(help: "JSON file with the site.") var file: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .PUT, "/v1/nginx/clusters/\(percentEncoded(cluster))/sites/\(percentEncoded(site))",
                            body: try NginxCommand.body(file: file), idempotencyKey: nil)
        }
    }

    struct PutUpstream: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "put-upstream",
                                                        abstract: "Create or replace an upstream from a JSON file {servers, reason}.")
        @Argument(help: "Cluster name.") var cluster: String
        @Argument(help: "Upstream name.") var upstream: String
        @Option(help: "JSON file with the upstream.") var file: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .PUT, "/v1/nginx/clusters/\(percentEncoded(cluster))/upstreams/\(percentEncoded(upstream))",
                            body: try NginxCommand.body(file: file), idempotencyKey: nil)
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a cluster's config versions.")
        @Argument(help: "Cluster name.") var cluster: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            _ = printItems(try await api.client().call(.GET, "/v1/nginx/clusters/\(percentEncoded(cluster))/versions"), as: api.output,
                           columns: [("VERSION", "version"), ("STATUS", "status"), ("ACTOR", "actor"), ("TIME", "time"), ("REASON", "reason")])
        }
    }

    struct Version: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one version's full text (or JSON with -o json).")
        @Argument(help: "Cluster name.") var cluster: String
        @Argument(help: "Version number.") var version: Int
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/nginx/clusters/\(percentEncoded(cluster))/versions/\(version)")
            if api.output == .json { NginxCommand.show(response) } else { print(string((response.json as? [String: Any])?["text"]), terminator: "") }
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unified diff between two versions.")
        @Argument(help: "Cluster name.") var cluster: String
        @Argument(help: "From version.") var from: Int
        @Argument(help: "To version.") var to: Int
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/nginx/clusters/\(percentEncoded(cluster))/diff?from=\(from)&to=\(to)")
            if api.output == .json { NginxCommand.show(response) } else { print(string((response.json as? [String: Any])?["diff"]), terminator: "") }
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-apply a version's exact text as a new version.")
        @Argument(help: "Cluster name.") var cluster: String
        @Argument(help: "Version to roll back to.") var version: Int
        @Option(help: "Why (kept on the new version).") var reason: String?
        @OptionGroup var api: APIOptions
        func run() async throws {
            var body: [String: Any] = ["version": version]
            if let reason { body["reason"] = reason }
            try await write(api, .POST, "/v1/nginx/clusters/\(percentEncoded(cluster))/rollback", body: body, idempotencyKey: nil)
        }
    }

    struct Nodes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per-node apply status and drift.")
        @Argument(help: "Cluster name.") var cluster: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            _ = printItems(try await api.client().call(.GET, "/v1/nginx/clusters/\(percentEncoded(cluster))/nodes"), as: api.output,
                           columns: [("NODE", "node"), ("APPLIED", "appliedVersion"), ("LAST", "lastOutcome"), ("DRIFT", "drift"),
                                     ("IN SYNC", "inSync"), ("MESSAGE", "message")])
        }
    }
}
