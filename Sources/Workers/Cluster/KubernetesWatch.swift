import Foundation
import Logging
import NIOCore

/// A list-then-watch cache of one kind of object in one cluster, as Kubernetes controllers keep them: a LIST gives
/// the objects and a resourceVersion, a WATCH from that version streams every change after it (ADDED, MODIFIED,
/// DELETED, BOOKMARK), and is resumed from the last version seen when the server ends it. A `410 Gone` (the version
/// is older than the server's history) or a broken stream means listing afresh; until a list has succeeded the cache
/// is not `synced`, and readers fall back to a LIST of their own.
///
/// Why: the cluster worker used to list every pod and Deployment of Wharf's every second; with 2,000 services that
/// is megabytes per round per cluster, and a change is seen only at the next round.
final class KubernetesWatch: @unchecked Sendable {
    let client: KubernetesClient
    /// The collection's path, e.g. `/api/v1/pods`.
    let path: String
    /// `labelSelector=...`, already escaped.
    let query: String
    let logger: Logger
    /// Seconds the server may keep one watch open; the next resumes from the last version seen. Below the client's
    /// 30 s read timeout, so a quiet cluster ends its watch before the client gives up on it.
    let watchSeconds = 20

    private let lock = NSLock()
    private var objects: [String: [String: Any]] = [:]
    private var isSynced = false
    private var changes = 0
    private var lists = 0

    struct Expired: Error {}

    init(client: KubernetesClient, path: String, query: String, logger: Logger) {
        self.client = client; self.path = path; self.query = query; self.logger = logger
    }

    /// The objects now, or nil until a list has succeeded (and after the watch broke, until it has listed again).
    func snapshot() -> [[String: Any]]? {
        lock.withLock { isSynced ? Array(objects.values) : nil }
    }

    var synced: Bool { lock.withLock { isSynced } }

    /// How many changes the cache has taken in, and how many lists it took (a change counter for readers that want to
    /// skip work when nothing moved; lists for tests and the log).
    var counters: (changes: Int, lists: Int) { lock.withLock { (changes, lists) } }

    func run() async {
        var version: String?
        while !Task.isCancelled {
            do {
                if version == nil { version = try await list() }
                version = try await watch(from: version!)
            } catch is Expired {
                logger.info("cluster watch \(path): resourceVersion \(version ?? "?") expired (410); listing again")
                version = nil
            } catch {
                if Task.isCancelled { break }
                lock.withLock { isSynced = false }
                version = nil
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func list() async throws -> String {
        let answer = try await client.getJSON("\(path)?\(query)", timeout: .seconds(60))
        var fresh: [String: [String: Any]] = [:]
        for item in answer["items"] as? [[String: Any]] ?? [] { if let key = Self.key(item) { fresh[key] = item } }
        let version = (answer["metadata"] as? [String: Any])?["resourceVersion"] as? String ?? ""
        lock.withLock {
            objects = fresh
            isSynced = true
            changes += 1
            lists += 1
        }
        return version
    }

    /// Streams changes after `version` until the server ends the watch; returns the last version seen.
    func watch(from version: String) async throws -> String {
        var last = version
        var pending: [UInt8] = []
        let stream = try await client.stream("\(path)?\(query)&watch=true&allowWatchBookmarks=true&resourceVersion=\(version)&timeoutSeconds=\(watchSeconds)",
                                             timeout: .seconds(Int64(watchSeconds + 10)))
        try await stream.forEach { chunk in
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if line.isEmpty { continue }
                if let seen = try apply(line) { last = seen }
            }
        }
        return last
    }

    /// Takes one watch event in; returns the resourceVersion it carries.
    private func apply(_ line: [UInt8]) throws -> String? {
        guard let event = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any], let type = event["type"] as? String,
              let object = event["object"] as? [String: Any] else {
            throw KubernetesClient.Failure(status: nil, reason: "watch \(path): an event that is not JSON", field: "apiServer")
        }
        if type == "ERROR" {
            if object["code"] as? Int == 410 { throw Expired() }
            throw KubernetesClient.Failure(status: object["code"] as? Int, reason: "watch \(path): \(object["message"] as? String ?? "error")", field: "apiServer")
        }
        let version = (object["metadata"] as? [String: Any])?["resourceVersion"] as? String
        guard type != "BOOKMARK", let key = Self.key(object) else { return version }
        lock.withLock {
            if type == "DELETED" { objects[key] = nil } else { objects[key] = object }
            changes += 1
        }
        return version
    }

    static func key(_ object: [String: Any]) -> String? {
        guard let metadata = object["metadata"] as? [String: Any], let name = metadata["name"] as? String else { return nil }
        return "\(metadata["namespace"] as? String ?? "")/\(name)"
    }
}
