import ArgumentParser
import Foundation

/// `wharf service place|placement|instances|history|rotation`: where a service runs, what runs of it, what ran,
/// and one pod out of the load balancer or back.
extension ServiceCommand {
    struct Place: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set which clusters run the service and how its replicas are divided (admins and operators).",
            discussion: """
                Name clusters (--cluster, repeatable), select them by label (--select KEY=VALUE, repeatable), or both. \
                static-weight divides by --weight CLUSTER=N (default 1 each, Webster's highest averages: 14 at 3:2:1 is 7:5:2); \
                dynamic-weight by how many more replicas each cluster can hold; aggregated uses as few clusters as hold them. \
                The placement scheduler decides the division and records it with its inputs: read it with `wharf service placement`.
                """)
        @Argument var name: String
        @Option(help: "static-weight, dynamic-weight or aggregated.") var division: String
        @Option(help: "A cluster to run on (repeatable).") var cluster: [String] = []
        @Option(help: "A label KEY=VALUE a cluster must have (repeatable).") var select: [String] = []
        @Option(help: "static-weight: CLUSTER=N, N >= 1 (repeatable).") var weight: [String] = []
        @Option(help: "What one replica needs, in millicores (dynamic-weight, aggregated; default 100).") var replicaCpu: Int?
        @Option(help: "What one replica needs, in bytes (dynamic-weight, aggregated; default 128 MiB).") var replicaMemory: Int64?
        @Option(help: "Idempotency-Key header.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions

        func run() async throws {
            var body: [String: Any] = ["division": division]
            if !cluster.isEmpty { body["clusters"] = cluster }
            if !select.isEmpty { body["selector"] = try pairs(select, option: "--select") }
            if !weight.isEmpty {
                body["weights"] = try pairs(weight, option: "--weight").mapValues { text -> Int in
                    guard let n = Int(text) else { throw ValidationError("--weight wants CLUSTER=N with a whole number N, not \"\(text)\"") }
                    return n
                }
            }
            if let replicaCpu { body["replicaCPUMillis"] = replicaCpu }
            if let replicaMemory { body["replicaMemoryBytes"] = replicaMemory }
            try await write(api, .PUT, "/v1/services/\(percentEncoded(name))/placement", body: body, idempotencyKey: idempotencyKey)
        }

        private func pairs(_ values: [String], option: String) throws -> [String: String] {
            var out: [String: String] = [:]
            for value in values {
                guard let eq = value.firstIndex(of: "="), eq != value.startIndex else { throw ValidationError("\(option) wants KEY=VALUE, not \"\(value)\"") }
                out[String(value[..<eq])] = String(value[value.index(after: eq)...])
            }
            return out
        }
    }

    struct Placement: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a service's placement: per cluster its share, what it runs now (more while a move is under way) and its ready pods.")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/services/\(percentEncoded(name))/placement")
            if api.output == .json { print(TableOutput.prettyJSON(response.body)); return }
            let p = (response.json as? [String: Any]) ?? [:]
            print("division \(string(p["division"])), placement revision \(string(p["placementRevision"])), \((p["settled"] as? Bool) == true ? "settled" : "moving")")
            let clusters = (p["clusters"] as? [[String: Any]]) ?? []
            print(TableOutput.render(["CLUSTER", "REPLICAS", "RUNNING", "READY"],
                                     clusters.map { c in ["cluster", "replicas", "running", "ready"].map { string(c[$0]) } }))
        }
    }

    struct Instances: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the pods of a service running now, in every cluster.")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/services/\(percentEncoded(name))/instances")
            printItems(response, as: api.output, columns: [("CLUSTER", "cluster"), ("POD", "pod"), ("IP", "ip"), ("NODE", "node"), ("PHASE", "phase"),
                                                           ("READY", "ready"), ("RESTARTS", "restarts"), ("REASON", "reason"), ("SINCE", "firstSeen")])
        }
    }

    struct Rollout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show per cluster how far the service's Deployment has rolled out (revision, updated, ready, available).")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/services/\(percentEncoded(name))/rollout")
            printItems(response, as: api.output, columns: [("CLUSTER", "cluster"), ("REVISION", "revision"), ("REPLICAS", "replicas"), ("UPDATED", "updated"),
                                                           ("READY", "ready"), ("AVAILABLE", "available"), ("COMPLETE", "complete"), ("REASON", "reason"),
                                                           ("CHANGED", "changedAt")])
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every pod of a service seen so far, newest first, with when it went.")
        @Argument var name: String
        @Option(help: "At most this many (1-1000).") var limit: Int = 100
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/services/\(percentEncoded(name))/history?limit=\(limit)")
            printItems(response, as: api.output, columns: [("CLUSTER", "cluster"), ("POD", "pod"), ("IP", "ip"), ("NODE", "node"),
                                                           ("FIRST SEEN", "firstSeen"), ("GONE", "goneAt"), ("LAST PHASE", "phase")])
        }
    }

    struct Rotation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take one running pod out of the load balancer (--out), or put it back (--in).",
            discussion: "The pod keeps running; while out, the Nginx upstreams do not send it requests. Pods are listed by `wharf service instances`.")
        @Argument var name: String
        @Argument(help: "The cluster the pod runs in.") var cluster: String
        @Argument(help: "The pod's name.") var pod: String
        @Flag(help: "Out of the load balancer.") var out = false
        @Flag(name: .customLong("in"), help: "Back into the load balancer.") var back = false
        @Option(help: "Idempotency-Key header.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions

        func validate() throws {
            guard out != back else { throw ValidationError("give exactly one of --out and --in") }
        }

        func run() async throws {
            try await write(api, .POST, "/v1/services/\(percentEncoded(name))/instances/\(percentEncoded(cluster))/\(percentEncoded(pod))/rotation",
                            body: ["inRotation": back], idempotencyKey: idempotencyKey)
        }
    }
}
