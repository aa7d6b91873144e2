import Commands
import Foundation
import Hummingbird
import NIOCore
import Projections

/// GET /v1/builds/{id}/log[?follow=true]: the build's log as plain text. With follow, the answer streams what the
/// build writes until it ends (checked every 250 ms), so `wharf build log -f` shows a running build live.
/// Logs live on the disk of the node that ran the build; a node that builds nothing answers 404 with that reason.
struct BuildLogRoute {
    let queries: ReadModelQueries
    let directory: String?

    func register(on router: RouteCollection<WharfRequestContext>) {
        router.get("/v1/builds/:id/log") { request, context in
            let id = try context.parameters.require("id")
            guard CodeflowValidation.isBuildId(id) else { throw APIError(.unprocessableContent, "build id must be 1-64 of [0-9a-z]", field: "id") }
            guard let build = try await queries.build(id: id) else { throw APIError(.notFound, "build \(id) does not exist") }
            guard let directory else { throw APIError(.notFound, "this node runs no builds (no WHARF_REGISTRY), so it has no build logs") }
            let path = "\(directory)/\(id).log"
            let follow = request.uri.queryParameters.get("follow") == "true"
            let stored = FileManager.default.contents(atPath: path)
            // A build the read model calls ended may still be writing its last lines (a cancel is decided before the
            // worker has killed the script): follow reads on until the closing line unless the log already has it.
            let complete = stored.map { Self.ended(String(decoding: $0.suffix(200), as: UTF8.self)) } ?? true
            if !follow || (!build.isOpen && complete) {
                guard let data = stored else {
                    if build.state == "queued" || build.state == "cancelled" { return Response(status: .ok, headers: Self.headers, body: .init()) }
                    throw APIError(.notFound, "no log of build \(id) on this node")
                }
                return Response(status: .ok, headers: Self.headers, body: .init(byteBuffer: ByteBuffer(data: data)))
            }
            let queries = queries
            return Response(status: .ok, headers: Self.headers, body: ResponseBody { writer in
                var offset: UInt64 = 0
                var tail = ""
                var closedAt: ContinuousClock.Instant?
                while true {
                    if let handle = FileHandle(forReadingAtPath: path) {
                        try handle.seek(toOffset: offset)
                        let chunk = handle.readDataToEndOfFile()
                        try handle.close()
                        if !chunk.isEmpty {
                            offset += UInt64(chunk.count)
                            tail = String((tail + String(decoding: chunk, as: UTF8.self)).suffix(200))
                            try await writer.write(ByteBuffer(data: chunk))
                        }
                    }
                    // The read model may say the build ended (a cancel) before its worker wrote the last lines: read on
                    // until the worker's closing line, or for 10 s (a lost worker writes none).
                    if let closedAt, Self.ended(tail) || ContinuousClock.now - closedAt > .seconds(10) { break }
                    if closedAt == nil, !((try await queries.build(id: id))?.isOpen ?? false) { closedAt = .now; continue }
                    try await Task.sleep(for: .milliseconds(250))
                }
                try await writer.finish(nil)
            })
        }
    }

    /// The worker's last line: "== succeeded: ...", "== failed: ..." or "== cancelled".
    static func ended(_ tail: String) -> Bool {
        tail.contains("\n== succeeded") || tail.contains("\n== failed") || tail.contains("\n== cancelled")
    }

    static let headers: HTTPFields = [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"]
}
