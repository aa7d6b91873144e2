import EventLog
import Commands
import Crypto
import Events
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Projections

/// POST /v1/webhooks/gitlab and /v1/webhooks/github.
///
/// A delivery is checked against the codeflows of the repository it names: GitLab's `X-Gitlab-Token` is compared
/// with each codeflow's secret in constant time, GitHub's `X-Hub-Signature-256` is recomputed over the raw body.
/// A delivery without a token or signature, or one that matches none of the secrets of the repository's codeflows,
/// is answered 401 and appends nothing. A delivery for a filtered branch, a deleted branch or an event that builds
/// nothing is answered 202 and recorded as ignored (once per delivery id). So is one for a repository no codeflow
/// builds: there is no secret to check it against, and the issue asks for such pushes to be visible in the audit
/// (a sender can therefore append one small record per new delivery id; see the issue note). A valid push becomes
/// one `RequestBuild` per codeflow that takes its branch, by actor `webhook:<provider>:<user>`; the build id is
/// derived from the delivery id, so a redelivery is answered with the same builds and builds nothing twice.
struct WebhookRoutes {
    let gateway: CommandGateway
    let queries: ReadModelQueries
    let consistency: ConsistencyWait
    let secrets: SecretKeyring

    static let maxBodyBytes = 5 * 1024 * 1024

    func register(on router: RouteCollection<WharfRequestContext>) {
        router.post("/v1/webhooks/gitlab") { request, _ in
            var request = request
            guard let token = request.headers[HTTPField.Name("X-Gitlab-Token")!], !token.isEmpty else {
                throw APIError.unauthorized("missing X-Gitlab-Token: set the codeflow's webhook secret as the hook's secret token")
            }
            let delivery = try deliveryId(request.headers[HTTPField.Name("Idempotency-Key")!] ?? request.headers[HTTPField.Name("X-Gitlab-Event-UUID")!],
                                          header: "X-Gitlab-Event-UUID")
            let body = try await rawBody(&request)
            let payload = try object(body)
            let parsed = WebhookDelivery.gitlab(payload, delivery: delivery)
            return try await handle(parsed, request: request) { sealed, codeflow in
                let secret = Array(try secrets.open(sealed, service: WebhookSecrets.scope(codeflow: codeflow), variable: WebhookSecrets.variable).utf8)
                return Self.constantTimeEqual(secret, Array(token.utf8))
            }
        }
        router.post("/v1/webhooks/github") { request, _ in
            var request = request
            guard let header = request.headers[HTTPField.Name("X-Hub-Signature-256")!], header.hasPrefix("sha256="),
                  case let expected = HashChain.hexBytes(String(header.dropFirst(7))), expected.count == 32 else {
                throw APIError.unauthorized("missing or malformed X-Hub-Signature-256: set the codeflow's webhook secret as the hook's secret")
            }
            let delivery = try deliveryId(request.headers[HTTPField.Name("X-GitHub-Delivery")!], header: "X-GitHub-Delivery")
            let event = request.headers[HTTPField.Name("X-GitHub-Event")!] ?? "unknown"
            let body = try await rawBody(&request)
            let payload = try object(body)
            let parsed = WebhookDelivery.github(payload, event: event, delivery: delivery)
            return try await handle(parsed, request: request) { sealed, codeflow in
                let secret = try secrets.open(sealed, service: WebhookSecrets.scope(codeflow: codeflow), variable: WebhookSecrets.variable)
                return HMAC<SHA256>.isValidAuthenticationCode(expected, authenticating: body, using: SymmetricKey(data: Array(secret.utf8)))
            }
        }
    }

    /// Verifies, then records or builds. `verify(sealed secret, codeflow name)`.
    private func handle(_ d: WebhookDelivery, request: Request, verify: (String, String) throws -> Bool) async throws -> Response {
        // `?after=` as on every read (tests, and a portal that has just defined the codeflow).
        try await consistency.wait(for: request)
        let candidates = try await queries.codeflows(repositories: d.repositories)
        if candidates.isEmpty {
            let shown = d.repositories.first ?? "(none named)"
            return try await ignored(d, reason: "no codeflow builds repository \(shown)")
        }
        // Every candidate is checked, so the time taken does not say which secret came close.
        var verified: [CodeflowRecord] = []
        for codeflow in candidates where (try? verify(codeflow.sealedWebhookSecret, codeflow.name)) == true { verified.append(codeflow) }
        guard !verified.isEmpty else {
            throw APIError.unauthorized("the delivery's secret or signature matches no codeflow of this repository; nothing was recorded")
        }
        if d.event == "ping" { return try JSONResponse.object(["ok": true, "codeflows": verified.map(\.name)]) }
        guard let target = d.target else { return try await ignored(d, reason: d.ignoredBecause ?? "nothing to build") }
        let taking = verified.filter { c in c.spec.branches.contains { CodeflowValidation.branch(target.name, matches: $0) } }
        guard !taking.isEmpty else {
            return try await ignored(d, reason: "\(target.name) matches the branches of no codeflow (\(verified.map { "\($0.name): \($0.spec.branches.joined(separator: ","))" }.joined(separator: "; ")))")
        }
        var builds: [[String: Any]] = []
        for codeflow in taking {
            let id = BuildIds.forDelivery(provider: d.provider.rawValue, delivery: d.delivery, codeflow: codeflow.name)
            let command = Command(RequestBuild(id: id, codeflow: codeflow.name, spec: codeflow.spec, ref: target.ref, commit: target.commit,
                                               trigger: BuildTrigger(source: d.provider == .gitlab ? .gitlab : .github, event: d.event,
                                                                     delivery: d.delivery, user: WebhookDelivery.line(d.user, 200))))
            let result = try await gateway.submit(command, actor: d.actor, correlationId: "webhook-\(d.provider.rawValue)-\(d.delivery)",
                                                  idempotencyKey: "webhook:\(d.provider.rawValue):\(d.delivery):\(codeflow.name)")
            var item: [String: Any] = ["codeflow": codeflow.name, "id": id, "commandId": result.commandId]
            switch result.kind {
            case .accepted: item["outcome"] = "queued"
            case .unchanged(let u): item["outcome"] = "unchanged"; item["reason"] = u.reason
            case .rejected(let r): item["outcome"] = "rejected"; item["reason"] = r.reason
            case .pending: item["outcome"] = "pending"
            }
            if let p = result.position { item["position"] = p.description }
            builds.append(item)
        }
        return try JSONResponse.object(["builds": builds, "commit": target.commit, "ref": target.ref], status: .accepted)
    }

    private func ignored(_ d: WebhookDelivery, reason: String) async throws -> Response {
        let command = Command(RecordWebhookIgnored(provider: d.provider.rawValue, delivery: d.delivery, event: WebhookDelivery.line(d.event, 100),
                                                   repository: WebhookDelivery.line(d.repositories.first ?? "", 2048), ref: WebhookDelivery.line(d.ref, 1024),
                                                   user: WebhookDelivery.line(d.user, 200), reason: WebhookDelivery.line(reason, 1000)))
        let result = try await gateway.submit(command, actor: d.actor, correlationId: "webhook-\(d.provider.rawValue)-\(d.delivery)",
                                              idempotencyKey: "webhook:\(d.provider.rawValue):\(d.delivery):ignored")
        var body: [String: Any] = ["ignored": reason, "commandId": result.commandId]
        if let p = result.position { body["position"] = p.description }
        return try JSONResponse.object(body, status: .accepted)
    }

    private func deliveryId(_ value: String?, header: String) throws -> String {
        guard let value, CodeflowValidation.isDelivery(value) else {
            throw APIError(.badRequest, "missing or malformed \(header) (1-128 of [A-Za-z0-9._-]): deliveries are told apart by it", field: header)
        }
        return value
    }

    private func rawBody(_ request: inout Request) async throws -> [UInt8] {
        do {
            return Array(try await request.collectBody(upTo: Self.maxBodyBytes).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "webhook body is larger than \(Self.maxBodyBytes) bytes")
        }
    }

    private func object(_ body: [UInt8]) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw APIError(.badRequest, "webhook body is not a JSON object")
        }
        return object
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        // Compared over the longer length, so the time says nothing about where they differ.
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
    }
}
