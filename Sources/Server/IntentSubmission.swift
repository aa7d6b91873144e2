import Events
import HTTPTypes
import Hummingbird

/// Submits a command built from a request: the actor from the token, `X-Request-Id` as correlation id and
/// `Idempotency-Key`, answered as a `WriteResponse`.
enum IntentSubmission {
    /// `projected`: for writes that take access away (revoking a token, disabling a user), answer only once the read
    /// models hold the change (bounded by the wait's timeout), so that when the caller has the answer every process
    /// refuses within its token cache's lifetime (0.25 s), however far the projections trailed the decision.
    static func submit(_ command: Command, gateway: CommandGateway, request: Request, context: WharfRequestContext,
                       created: Bool = false, projected: ConsistencyWait? = nil) async throws -> Response {
        let actor = try context.requireActor()
        let result = try await gateway.submit(command, actor: actor, correlationId: try correlationId(of: request),
                                              authorizedLine: context.authorizedLine,
                                              idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!])
        // Decided is decided: a failed or timed-out wait still answers the outcome (the change takes effect as the
        // projections catch up).
        if let projected, case .accepted = result.kind, let position = result.position { _ = try? await projected.projected(position) }
        return try WriteResponse.make(result, createdStatus: created ? .created : .ok)
    }

    /// `X-Request-Id`, when given: 1-128 visible ASCII characters.
    static func correlationId(of request: Request) throws -> String? {
        let id = request.headers[HTTPField.Name("X-Request-Id")!]
        if let id, !(1...128).contains(id.utf8.count) || !id.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) {
            throw APIError(.badRequest, "X-Request-Id must be 1-128 visible ASCII characters", field: "X-Request-Id")
        }
        return id
    }
}
