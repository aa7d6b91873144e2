import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "List, inspect, follow, cancel and retry builds.",
        discussion: "States: queued, running, succeeded, failed, cancelled. A build whose worker died is failed as \"worker lost\"; retry it.",
        subcommands: [List.self, Get.self, Log.self, Cancel.self, Retry.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List builds, newest first.")
        @Option(help: "Only this codeflow's.") var codeflow: String?
        @Option(help: "Only builds in this state: queued, running, succeeded, failed or cancelled.") var state: String?
        @Option(help: "At most this many (1-1000).") var limit: Int = 100
        @OptionGroup var api: APIOptions
        func run() async throws {
            var query = ["limit=\(limit)"]
            if let codeflow { query.append("codeflow=\(percentEncoded(codeflow))") }
            if let state { query.append("state=\(percentEncoded(state))") }
            let response = try await api.client().call(.GET, "/v1/builds?" + query.joined(separator: "&"))
            printItems(response, as: api.output, columns: [("ID", "id"), ("CODEFLOW", "codeflow"), ("STATE", "state"), ("REF", "ref"),
                                                           ("COMMIT", "commit"), ("CACHE HIT", "cacheHit"), ("QUEUED", "queuedAt"), ("REASON", "reason")])
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one build: trigger, commit, image, digest, phases, reason.")
        @Argument var id: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            print(TableOutput.prettyJSON(try await api.client().call(.GET, "/v1/builds/\(percentEncoded(id))").body))
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a build's log; with -f, follow a running build until it ends.")
        @Argument var id: String
        @Flag(name: .shortAndLong, help: "Follow the log while the build runs.") var follow = false
        @OptionGroup var api: APIOptions
        func run() async throws {
            if follow { try await BuildCommand.followLog(api, id: id); return }
            FileHandle.standardOutput.write(try await api.client().call(.GET, "/v1/builds/\(percentEncoded(id))/log").body)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued or running build (a running build's processes are killed).")
        @Argument var id: String
        @OptionGroup var api: APIOptions
        func run() async throws { try await write(api, .POST, "/v1/builds/\(percentEncoded(id))/cancel", body: nil, idempotencyKey: nil) }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Build a failed or cancelled build again (same commit when it was known), as a new build.")
        @Argument var id: String
        @Option(help: "Idempotency key: a retry with the same key is answered with the first new build.") var idempotencyKey: String?
        @OptionGroup var api: APIOptions
        func run() async throws { try await write(api, .POST, "/v1/builds/\(percentEncoded(id))/retry", body: nil, idempotencyKey: idempotencyKey) }
    }

    /// Streams GET /v1/builds/{id}/log?follow=true to stdout as it arrives, then says how the build ended.
    static func followLog(_ api: APIOptions, id: String) async throws {
        let client = try api.client()
        var request = HTTPClientRequest(url: client.baseURL + "/v1/builds/\(percentEncoded(id))/log?follow=true")
        request.headers.add(name: "Authorization", value: "Bearer \(client.token)")
        let response = try await HTTPClient.shared.execute(request, timeout: .hours(3))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            throw APIFailure(status: Int(response.status.code), reason: String(buffer: body))
        }
        for try await chunk in response.body { FileHandle.standardOutput.write(Data(chunk.readableBytesView)) }
        let build = try await client.call(.GET, "/v1/builds/\(percentEncoded(id))").json as? [String: Any] ?? [:]
        print("build \(id): \(string(build["state"]))\(build["digest"].map { " \(string($0))" } ?? "")\(build["reason"].map { ": \(string($0))" } ?? "")")
        if build["state"] as? String != "succeeded" { throw ExitCode(1) }
    }
}
