import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

/// `wharf service recreate|debug|logs|operations`: operations on one pod, each recorded in the log first.
extension ServiceCommand {
    struct Recreate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete one pod so that its Deployment starts a replacement, and wait for the cluster worker to do it.",
            discussion: "Pods are listed by `wharf service instances`. The recreate is recorded first; the cluster worker holding the "
                + "cluster deletes the pod and records the outcome, which this command waits for (--wait seconds).")
        @Argument var name: String
        @Argument(help: "The cluster the pod runs in.") var cluster: String
        @Argument(help: "The pod's name.") var pod: String
        @Option(help: "Seconds to wait for the outcome (0: do not wait).") var wait: Int = 60
        @Option(help: "Idempotency-Key header.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions

        func run() async throws {
            try await operate(api, name: name, path: "\(cluster)/\(pod)/recreate", body: nil, idempotencyKey: idempotencyKey, wait: wait)
        }
    }

    struct Debug: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an ephemeral debug container to one pod (owners of the service's line), and wait until it is added.",
            discussion: "The container runs --image in the pod, sharing the service container's process namespace, with stdin and a TTY; "
                + "the outcome says how to attach to it. Ephemeral containers cannot be removed; they go with the pod.")
        @Argument var name: String
        @Argument(help: "The cluster the pod runs in.") var cluster: String
        @Argument(help: "The pod's name.") var pod: String
        @Option(help: "The debug container's image, e.g. registry.example.com/tools/busybox:1.36.") var image: String
        @Option(help: "The debug container's name (default debug-<random>).") var container: String?
        @Option(help: "Seconds to wait for the outcome (0: do not wait).") var wait: Int = 60
        @Option(help: "Idempotency-Key header.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions

        func run() async throws {
            var body: [String: Any] = ["image": image]
            if let container { body["container"] = container }
            try await operate(api, name: name, path: "\(cluster)/\(pod)/debug", body: body, idempotencyKey: idempotencyKey, wait: wait)
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one pod's recent log (the read is recorded in the log first); with -f, follow it.",
            discussion: "Without --tail or --since, the last 500 lines. Lines carry the cluster's timestamps.")
        @Argument var name: String
        @Argument(help: "The cluster the pod runs in.") var cluster: String
        @Argument(help: "The pod's name.") var pod: String
        @Option(name: .shortAndLong, help: "The container (default: the service's container; a debug container by its name).") var container: String?
        @Option(help: "The last N lines (0-10000).") var tail: Int?
        @Option(help: "Lines of the last N seconds (1-604800).") var since: Int?
        @Flag(name: .shortAndLong, help: "Follow the log until the pod goes or you stop it.") var follow = false
        @OptionGroup var api: APIOptions

        func run() async throws {
            let client = try api.client()
            var body: [String: Any] = ["follow": follow]
            if let container { body["container"] = container }
            if let tail { body["tailLines"] = tail }
            if let since { body["sinceSeconds"] = since }
            var request = HTTPClientRequest(url: client.baseURL + "/v1/services/\(percentEncoded(name))/instances/\(percentEncoded(cluster))/\(percentEncoded(pod))/logs")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(client.token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])))
            let http = client.httpClient()
            let result: Result<Void, Error>
            do { result = .success(try await Self.print(request, with: http, follow: follow, base: client.baseURL)) } catch { result = .failure(error) }
            if client.caFile != nil { try? await http.shutdown() }
            try result.get()
        }

        static func print(_ request: HTTPClientRequest, with http: HTTPClient, follow: Bool, base: String) async throws {
            let response: HTTPClientResponse
            do { response = try await http.execute(request, timeout: follow ? .hours(1) : .seconds(60)) } catch {
                throw APIFailure(status: 0, reason: "cannot reach Wharf at \(base): \(error). Is `wharf serve` running? (--url / WHARF_URL)")
            }
            guard response.status == .ok else {
                let answer = try await response.body.collect(upTo: 1 << 20)
                let object = (try? JSONSerialization.jsonObject(with: Data(buffer: answer))) as? [String: Any]
                throw APIFailure(status: Int(response.status.code),
                                 reason: (object?["reason"] as? String) ?? (object?["error"] as? String) ?? String(buffer: answer))
            }
            for try await chunk in response.body { FileHandle.standardOutput.write(Data(chunk.readableBytesView)) }
        }
    }

    struct Operations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the recreates, debug containers and log reads of a service's pods, newest first, with their outcomes.")
        @Argument var name: String
        @Option(help: "At most this many (1-1000).") var limit: Int = 100
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/services/\(percentEncoded(name))/operations?limit=\(limit)")
            printItems(response, as: api.output, columns: [("REQUESTED", "requestedAt"), ("KIND", "kind"), ("CLUSTER", "cluster"), ("POD", "pod"),
                                                           ("STATE", "state"), ("BY", "requestedBy"), ("DETAIL", "detail"), ("ID", "id")])
        }
    }
}

/// Posts an operation, prints the outcome of the request, then (unless `wait` is 0) polls the operation until the
/// cluster worker has recorded how it went; a failed operation exits 1.
private func operate(_ api: APIOptions, name: String, path: String, body: [String: Any]?, idempotencyKey: String?, wait: Int) async throws {
    let client = try api.client()
    let base = "/v1/services/\(percentEncoded(name))"
    let pieces = path.split(separator: "/").map { percentEncoded(String($0)) }.joined(separator: "/")
    let response = try await client.send(.POST, "\(base)/instances/\(pieces)", body: body,
                                         headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
    let object = (response.json as? [String: Any]) ?? [:]
    guard (200..<300).contains(response.status), object["outcome"] as? String == "accepted", let id = object["commandId"] as? String else {
        try await write(api, response)
        return
    }
    if api.output == .table { print("requested (operation \(id))") }
    guard wait > 0 else { if api.output == .json { print(TableOutput.prettyJSON(response.body)) }; return }
    let deadline = Date().addingTimeInterval(TimeInterval(wait))
    while true {
        let op = try await client.send(.GET, "\(base)/operations/\(percentEncoded(id))")
        let item = (op.json as? [String: Any]) ?? [:]
        let state = item["state"] as? String ?? "pending"
        if op.status == 200, state != "pending" || Date() >= deadline {
            if api.output == .json { print(TableOutput.prettyJSON(op.body)) } else { print("\(state): \(string(item["detail"]))") }
            if state != "done" { throw ExitCode(1) }
            return
        }
        if Date() >= deadline {
            print("still pending after \(wait) s; see `wharf service operations \(name)`")
            throw ExitCode(1)
        }
        try await Task.sleep(for: .milliseconds(500))
    }
}
