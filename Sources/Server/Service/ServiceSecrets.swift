import EventLog
import Commands
import Events
import Foundation
import HTTPTypes
import Hummingbird

/// Secret env values at the API: sealed on the way in (only ciphertext reaches the log), opened only by the
/// reveal route, after the reveal is in the log.
struct ServiceSecrets {
    let keyring: SecretKeyring
    let gateway: CommandGateway

    /// Seals the plain values of a request's `secretEnv`; nil for an absent or empty map. Values are checked here,
    /// where they are still readable: at most 32 KiB of UTF-8 with no NUL, as plain env values.
    func seal(_ plain: [String: String]?, service: String) throws -> [String: String]? {
        guard let plain, !plain.isEmpty else { return nil }
        var sealed: [String: String] = [:]
        for (name, value) in plain.sorted(by: { $0.key < $1.key }) {
            guard ServiceValidation.isEnvName(name) else {
                throw APIError(.unprocessableContent, "variable names must match [A-Za-z_][A-Za-z0-9_]* (got \"\(name.prefix(80))\")",
                               field: "secretEnv")
            }
            if !ServiceValidation.isEnvValue(value) {
                throw APIError(.unprocessableContent, "value must be at most \(ServiceValidation.maxEnvValueBytes) bytes and contain no NUL",
                               field: "secretEnv.\(name)")
            }
            sealed[name] = try keyring.seal(value, service: service, variable: name)
        }
        return sealed
    }

    /// POST /v1/services/{name}/secret-env/{variable}/reveal: the reveal is appended first (who, which variable);
    /// only an accepted reveal is opened, and from the sealed value the decider put in its event.
    func register(on router: RouteCollection<WharfRequestContext>) {
        router.post("/v1/services/:name/secret-env/:variable/reveal") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "service name")
            let variable = try context.parameters.require("variable")
            guard ServiceValidation.isEnvName(variable) else {
                throw APIError(.unprocessableContent, "variable must match [A-Za-z_][A-Za-z0-9_]* (got \"\(variable.prefix(80))\")", field: "variable")
            }
            var request = request
            if try await request.collectBody(upTo: 4096).readableBytes > 0 {
                throw APIError(.unprocessableContent, "a reveal takes no request body", field: "body")
            }
            // No Idempotency-Key: a repeated request is another reveal, and is recorded as one.
            let result = try await gateway.submit(Command(RevealServiceSecret(name: name, variable: variable)), actor: try context.requireActor(),
                                                  correlationId: try IntentSubmission.correlationId(of: request),
                                                  authorizedLine: context.authorizedLine, idempotencyKey: nil)
            guard case .accepted = result.kind else { return try WriteResponse.make(result) }
            guard let revealed = Self.revealedEvent(in: result.eventsJSON) else {
                throw APIError(.internalServerError, "the reveal was recorded but its event could not be read")
            }
            let value: String
            do {
                value = try keyring.open(revealed.sealed, service: name, variable: variable)
            } catch let failure as SecretKeyring.Failure {
                throw APIError(.internalServerError, "the reveal was recorded, but the value cannot be opened here: \(failure.description)")
            }
            var response = try JSONResponse.object([
                "name": name, "variable": variable, "value": value, "revision": revealed.revision, "keyId": revealed.keyId,
                "commandId": result.commandId, "position": result.position?.description ?? "",
            ])
            // Keep the value out of caches and proxies.
            response.headers[.cacheControl] = "no-store"
            return response
        }
    }

    private static func revealedEvent(in eventsJSON: String) -> ServiceSecretRevealed? {
        guard let events = try? JSONSerialization.jsonObject(with: Data(eventsJSON.utf8)) as? [[String: Any]] else { return nil }
        for event in events where event["type"] as? String == ServiceSecretRevealed.type {
            guard let payload = event["payload"] as? [String: Any], let name = payload["name"] as? String,
                  let variable = payload["variable"] as? String, let revision = payload["revision"] as? Int,
                  let keyId = payload["keyId"] as? String, let sealed = payload["sealed"] as? String else { return nil }
            return ServiceSecretRevealed(name: name, variable: variable, revision: revision, keyId: keyId, sealed: sealed)
        }
        return nil
    }
}
