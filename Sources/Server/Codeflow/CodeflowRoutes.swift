import EventLog
import Commands
import Events
import Foundation
import HTTPTypes
import Hummingbird
import Projections

/// /v1/codeflows and /v1/builds: define how a service is built, trigger, list, follow, cancel and retry builds.
struct CodeflowRoutes {
    let gateway: CommandGateway
    let queries: ReadModelQueries
    let consistency: ConsistencyWait
    let secrets: SecretKeyring
    let buildLogDirectory: String?

    static let minSecretBytes = 16

    func register(on router: RouteCollection<WharfRequestContext>) {
        router.put("/v1/codeflows/:name") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "codeflow name")
            var request = request
            let b = try await StrictJSON.decode(PutCodeflowRequest.self, from: &request, shape: PutCodeflowRequest.shape)
            let spec = b.spec
            // Field rules first, so a bad request is refused before the secret is sealed or anything is looked up.
            let errors = CodeflowValidation.validate(Command(PutCodeflow(name: name, spec: spec)))
            if let first = errors.first { throw APIError(.unprocessableContent, errors.map(\.description).joined(separator: "; "), field: first.field) }
            try await consistency.wait(for: request)
            guard try await queries.service(named: spec.service) != nil else {
                throw APIError(.unprocessableContent, "service \"\(spec.service)\" does not exist", field: "service")
            }
            let existing = try await queries.codeflow(named: name)
            if let existing, existing.spec.service != spec.service {
                throw APIError(.conflict, "codeflow \"\(name)\" builds service \"\(existing.spec.service)\"; its service cannot change (make another codeflow)",
                               field: "service")
            }
            var sealed: String?
            if let secret = b.webhookSecret {
                guard secret.utf8.count >= Self.minSecretBytes, secret.utf8.count <= 256, !secret.contains(where: { $0.isNewline || $0 == " " }) else {
                    throw APIError(.unprocessableContent, "webhookSecret must be \(Self.minSecretBytes)-256 bytes without spaces or line breaks",
                                   field: "webhookSecret")
                }
                sealed = try secrets.seal(secret, service: WebhookSecrets.scope(codeflow: name), variable: WebhookSecrets.variable)
            } else if existing == nil {
                throw APIError(.unprocessableContent, "a new codeflow needs a webhookSecret (\(Self.minSecretBytes)+ bytes; give the same to GitLab or GitHub)",
                               field: "webhookSecret")
            }
            return try await IntentSubmission.submit(Command(PutCodeflow(name: name, spec: spec, webhookSecret: sealed)), gateway: gateway,
                                                     request: request, context: context, created: existing == nil)
        }
        router.get("/v1/codeflows") { request, context in
            try await consistency.wait(for: request)
            return JSONResponse.raw(try await queries.codeflowsJSON(visibleLines: try visibleLines(context)))
        }
        router.get("/v1/codeflows/:name") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "codeflow name")
            try await consistency.wait(for: request)
            let json = try await queries.codeflowsJSON(only: name, visibleLines: nil)
            guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                  let item = (object["items"] as? [Any])?.first else { throw APIError(.notFound, "codeflow \"\(name)\" does not exist") }
            return JSONResponse.raw(String(decoding: try JSONSerialization.data(withJSONObject: item, options: [.sortedKeys]), as: UTF8.self))
        }
        router.post("/v1/codeflows/:name/builds") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "codeflow name")
            var request = request
            let b = try await StrictJSON.decode(TriggerBuildRequest.self, from: &request, shape: TriggerBuildRequest.shape)
            guard CodeflowValidation.isRef(b.ref) else {
                throw APIError(.unprocessableContent, "ref must be a branch or tag name, or refs/... (no spaces, \"..\" or leading \"-\")", field: "ref")
            }
            try await consistency.wait(for: request)
            guard let codeflow = try await queries.codeflow(named: name) else { throw APIError(.notFound, "codeflow \"\(name)\" does not exist") }
            let actor = try context.requireActor()
            let id = BuildIds.forIdempotencyKey(request.headers[HTTPField.Name("Idempotency-Key")!], actor: actor, codeflowOrBuild: name)
            let command = Command(RequestBuild(id: id, codeflow: name, spec: codeflow.spec, ref: b.ref,
                                               trigger: BuildTrigger(source: .manual, user: actor)))
            return try await IntentSubmission.submit(command, gateway: gateway, request: request, context: context, created: true)
        }
        router.get("/v1/builds") { request, context in
            try await consistency.wait(for: request)
            let q = request.uri.queryParameters
            let codeflow = q.get("codeflow").flatMap { $0.isEmpty ? nil : $0 }
            let state = q.get("state").flatMap { $0.isEmpty ? nil : $0 }
            if let state, !["queued", "running", "succeeded", "failed", "cancelled"].contains(state) {
                throw APIError(.badRequest, "state must be queued, running, succeeded, failed or cancelled", field: "state")
            }
            let limit = try q.get("limit").map { text -> Int in
                guard let n = Int(text), (1...1000).contains(n) else { throw APIError(.badRequest, "limit must be 1-1000", field: "limit") }
                return n
            } ?? 100
            return JSONResponse.raw(try await queries.buildsJSON(codeflow: codeflow, state: state, limit: limit, visibleLines: try visibleLines(context)))
        }
        router.get("/v1/builds/:id") { request, context in
            let id = try buildId(context)
            try await consistency.wait(for: request)
            guard let json = try await queries.buildJSON(id: id) else { throw APIError(.notFound, "build \(id) does not exist") }
            return JSONResponse.raw(json)
        }
        router.post("/v1/builds/:id/cancel") { request, context in
            let id = try buildId(context)
            return try await IntentSubmission.submit(Command(CancelBuild(id: id)), gateway: gateway, request: request, context: context)
        }
        router.post("/v1/builds/:id/retry") { request, context in
            let id = try buildId(context)
            try await consistency.wait(for: request)
            guard let old = try await queries.build(id: id) else { throw APIError(.notFound, "build \(id) does not exist") }
            guard old.state == "failed" || old.state == "cancelled" else {
                throw APIError(.conflict, "build \(id) is \(old.state); only failed or cancelled builds are retried")
            }
            // The same commit (when it was known) and the codeflow's current definition.
            let spec = try await queries.codeflow(named: old.codeflow)?.spec ?? old.spec
            let actor = try context.requireActor()
            let newId = BuildIds.forIdempotencyKey(request.headers[HTTPField.Name("Idempotency-Key")!], actor: actor, codeflowOrBuild: id)
            let command = Command(RequestBuild(id: newId, codeflow: old.codeflow, spec: spec, ref: old.ref, commit: old.commit,
                                               trigger: BuildTrigger(source: .retry, user: actor), retryOf: id))
            return try await IntentSubmission.submit(command, gateway: gateway, request: request, context: context, created: true)
        }
        BuildLogRoute(queries: queries, directory: buildLogDirectory).register(on: router)
    }

    private func buildId(_ context: WharfRequestContext) throws -> String {
        let id = try context.parameters.require("id")
        guard CodeflowValidation.isBuildId(id) else { throw APIError(.unprocessableContent, "build id must be 1-64 of [0-9a-z]", field: "id") }
        return id
    }

    /// nil for callers that read every line; otherwise the lines they hold a role in.
    private func visibleLines(_ context: WharfRequestContext) throws -> [String]? {
        let principal = try context.requirePrincipal()
        return principal.readsAll ? nil : principal.grants.lines.keys.sorted()
    }
}

/// Where webhook secrets are sealed: bound to their codeflow, so a sealed secret copied to another does not open.
enum WebhookSecrets {
    static func scope(codeflow: String) -> String { "codeflow:\(codeflow)" }
    static let variable = "webhookSecret"
}
