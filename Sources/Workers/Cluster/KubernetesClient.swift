import AsyncHTTPClient
import Events
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Speaks to one cluster's API server as any client of a real cluster does: HTTPS trusting the registered CA bundle,
/// `Authorization: Bearer <token>`, JSON. One HTTP client (and connection pool) per cluster, since the trust roots are
/// the cluster's own.
public final class KubernetesClient: Sendable {
    public let apiServer: String
    let token: String
    let http: HTTPClient

    /// `readTimeout`: how long a read may wait for the next bytes (nil: no limit, for a followed log).
    public init(apiServer: String, caBundle: String?, token: String, connectTimeout: TimeAmount = .seconds(5),
                readTimeout: TimeAmount? = .seconds(30)) throws {
        self.apiServer = apiServer.hasSuffix("/") ? String(apiServer.dropLast()) : apiServer
        self.token = token
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caBundle {
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caBundle.utf8))) } catch {
                throw Failure(status: nil, reason: "caBundle: the certificates do not parse (\(error))", field: "caBundle")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                                     timeout: .init(connect: connectTimeout, read: readTimeout))
        configuration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async { try? await http.shutdown() }

    /// A request that did not get the answer asked for; `field` names the registration field it points at.
    public struct Failure: Error, CustomStringConvertible {
        public var status: Int?
        public var reason: String
        public var field: String
        public var description: String { reason }
    }

    /// GET of a JSON object; a non-2xx answer is a `Failure` carrying the API's own message.
    public func getJSON(_ path: String, timeout: TimeAmount = .seconds(10)) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: apiServer + path)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        let response: HTTPClientResponse
        do { response = try await http.execute(request, timeout: timeout) } catch {
            throw Failure(status: nil, reason: "cannot reach \(apiServer): \(Self.describe(error))", field: "apiServer")
        }
        let body: ByteBuffer
        do { body = try await response.body.collect(upTo: 64 << 20) } catch {
            throw Failure(status: Int(response.status.code), reason: "\(apiServer)\(path): the answer could not be read (\(Self.describe(error)))", field: "apiServer")
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
        guard (200..<300).contains(response.status.code) else {
            let message = (object?["message"] as? String).map { ": \($0)" } ?? ""
            let field = [401, 403].contains(response.status.code) ? "token" : "apiServer"
            throw Failure(status: Int(response.status.code), reason: "\(apiServer)\(path) answered \(response.status.code)\(message)", field: field)
        }
        guard let object else { throw Failure(status: Int(response.status.code), reason: "\(apiServer)\(path) did not answer JSON", field: "apiServer") }
        return object
    }

    /// Server-side apply of one object by field manager `wharf`, taking over fields another manager set (Wharf owns
    /// what it renders). An apply that changes nothing writes nothing on the server.
    public func apply(_ path: String, body: String, timeout: TimeAmount = .seconds(10)) async throws {
        try await send(.PATCH, path + "?fieldManager=wharf&force=true", body: body, contentType: "application/apply-patch+yaml", timeout: timeout)
    }

    /// DELETE; an object that is gone already is fine (false).
    @discardableResult public func delete(_ path: String, timeout: TimeAmount = .seconds(10)) async throws -> Bool {
        do { try await send(.DELETE, path, body: nil, contentType: nil, timeout: timeout) } catch let f as Failure where f.status == 404 { return false }
        return true
    }

    /// PATCH with a merge or strategic-merge body (the subresources server-side apply does not serve, such as
    /// `pods/NAME/ephemeralcontainers`).
    public func patch(_ path: String, body: String, contentType: String, timeout: TimeAmount = .seconds(10)) async throws {
        try await send(.PATCH, path, body: body, contentType: contentType, timeout: timeout)
    }

    /// A GET whose body is streamed to the caller (a pod's log, `follow=true` included): the answer's head is checked
    /// here, a non-2xx one thrown as a `Failure` with the API's message. The body must be consumed or dropped.
    public func stream(_ path: String, timeout: TimeAmount) async throws -> Stream {
        var request = HTTPClientRequest(url: apiServer + path)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response: HTTPClientResponse
        do { response = try await http.execute(request, timeout: timeout) } catch {
            throw Failure(status: nil, reason: "cannot reach \(apiServer): \(Self.describe(error))", field: "apiServer")
        }
        guard (200..<300).contains(response.status.code) else {
            let answer = try? await response.body.collect(upTo: 1 << 20)
            let object = answer.flatMap { try? JSONSerialization.jsonObject(with: Data(buffer: $0)) as? [String: Any] }
            let message = (object?["message"] as? String).map { ": \($0)" } ?? ""
            throw Failure(status: Int(response.status.code), reason: "GET \(path) answered \(response.status.code)\(message)", field: "apiServer")
        }
        return Stream(body: response.body)
    }

    /// A streamed answer's body, chunk by chunk as the API sends it.
    public struct Stream: Sendable {
        let body: HTTPClientResponse.Body
        public func forEach(_ handle: (ByteBuffer) async throws -> Void) async throws {
            for try await chunk in body { try await handle(chunk) }
        }
    }

    func send(_ method: HTTPMethod, _ path: String, body: String?, contentType: String?, timeout: TimeAmount) async throws {
        var request = HTTPClientRequest(url: apiServer + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response: HTTPClientResponse
        do { response = try await http.execute(request, timeout: timeout) } catch {
            throw Failure(status: nil, reason: "cannot reach \(apiServer): \(Self.describe(error))", field: "apiServer")
        }
        let answer: ByteBuffer
        do { answer = try await response.body.collect(upTo: 16 << 20) } catch {
            throw Failure(status: Int(response.status.code), reason: "\(method) \(path): the answer could not be read (\(Self.describe(error)))", field: "apiServer")
        }
        guard (200..<300).contains(response.status.code) else {
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: answer))) as? [String: Any]
            let message = (object?["message"] as? String).map { ": \($0)" } ?? ""
            throw Failure(status: Int(response.status.code), reason: "\(method) \(path) answered \(response.status.code)\(message)", field: "apiServer")
        }
    }

    /// The check at registration: the API answers with these credentials and may list nodes (what the worker needs).
    /// Throws a `Failure` naming the field at fault (apiServer, caBundle, token).
    public func probe(timeout: TimeAmount = .seconds(5)) async throws {
        _ = try await getJSON("/version", timeout: timeout)
        _ = try await getJSON("/api/v1/nodes?limit=1", timeout: timeout)
    }

    /// What the cluster worker records as health: reachable, nodes ready, and over ready schedulable nodes the
    /// allocatable CPU/memory and what the pods on them request. Rounded (CPU to 100m, memory to 64 MiB) so that a
    /// steady cluster reads the same twice. An unreachable API is a health too (`reachable: false`), not an error.
    public func health() async -> ClusterHealth {
        do {
            _ = try await getJSON("/version")
            let nodes = try await getJSON("/api/v1/nodes")["items"] as? [[String: Any]] ?? []
            var ready: [String: (cpu: Int64, memory: Int64)] = [:]
            for node in nodes {
                let metadata = node["metadata"] as? [String: Any], status = node["status"] as? [String: Any]
                let conditions = status?["conditions"] as? [[String: Any]] ?? []
                let isReady = conditions.contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" }
                let unschedulable = (node["spec"] as? [String: Any])?["unschedulable"] as? Bool ?? false
                guard isReady, !unschedulable, let name = metadata?["name"] as? String else { continue }
                let allocatable = status?["allocatable"] as? [String: Any] ?? [:]
                ready[name] = (KubernetesQuantity.millicores(allocatable["cpu"] as? String ?? "0") ?? 0,
                               KubernetesQuantity.bytes(allocatable["memory"] as? String ?? "0") ?? 0)
            }
            let pods = try await getJSON("/api/v1/pods")["items"] as? [[String: Any]] ?? []
            var requested: (cpu: Int64, memory: Int64) = (0, 0)
            for pod in pods {
                let spec = pod["spec"] as? [String: Any]
                let phase = (pod["status"] as? [String: Any])?["phase"] as? String
                guard let node = spec?["nodeName"] as? String, ready[node] != nil, phase != "Succeeded", phase != "Failed" else { continue }
                for container in spec?["containers"] as? [[String: Any]] ?? [] {
                    let requests = (container["resources"] as? [String: Any])?["requests"] as? [String: Any] ?? [:]
                    requested.cpu = Self.add(requested.cpu, KubernetesQuantity.millicores(requests["cpu"] as? String ?? "0") ?? 0)
                    requested.memory = Self.add(requested.memory, KubernetesQuantity.bytes(requests["memory"] as? String ?? "0") ?? 0)
                }
            }
            let notReady = nodes.count - ready.count
            return ClusterHealth(reachable: true, nodesReady: ready.count, nodesTotal: nodes.count,
                                 allocatableCPUMillis: Self.round(ready.values.reduce(0) { Self.add($0, $1.cpu) }, to: 100),
                                 allocatableMemoryBytes: Self.round(ready.values.reduce(0) { Self.add($0, $1.memory) }, to: 64 << 20),
                                 requestedCPUMillis: Self.round(requested.cpu, to: 100), requestedMemoryBytes: Self.round(requested.memory, to: 64 << 20),
                                 reason: nodes.isEmpty ? "the cluster has no nodes" : notReady > 0 ? "\(notReady) of \(nodes.count) nodes not ready" : nil)
        } catch {
            return ClusterHealth(reachable: false, nodesReady: 0, nodesTotal: 0, allocatableCPUMillis: 0, allocatableMemoryBytes: 0,
                                 requestedCPUMillis: 0, requestedMemoryBytes: 0, reason: Self.oneLine("\(error)"))
        }
    }

    static func round(_ value: Int64, to step: Int64) -> Int64 { (value / step) * step }

    /// Sums of what a cluster reports stop at Int64.max instead of trapping (a hostile or broken API must not crash us).
    static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }

    /// A reason as the log takes it: one line, at most 1,000 bytes (the API's own message may hold anything).
    static func oneLine(_ text: String) -> String {
        var out = ""
        for ch in text.map({ $0.isNewline ? " " : $0 }) {
            if out.utf8.count + String(ch).utf8.count > 1000 { break }
            out.append(ch)
        }
        return out.isEmpty ? "unknown error" : out
    }

    /// Connection errors name their cause, not NIO's type names only.
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("certificate") || text.contains("CERTIFICATE") || error is NIOSSLError { return "TLS: \(text) (is caBundle the cluster's CA?)" }
        if let e = error as? HTTPClientError, e == .deadlineExceeded || e == .connectTimeout || e == .readTimeout { return "no answer in time (\(text))" }
        return text
    }
}
