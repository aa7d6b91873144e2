import Hummingbird

/// Every /v1 request needs `Authorization: Bearer <token>`; the token's actor goes on every command.
/// /healthz and /metrics stay open for probes and scrapers.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = WharfRequestContext
    let tokens: TokenStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/v1/") || request.uri.path == "/v1" else {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("missing Authorization header; send \"Authorization: Bearer <token>\"")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw APIError.unauthorized("Authorization header must be \"Bearer <token>\"")
        }
        guard let actor = try await tokens.actor(for: String(parts[1])) else {
            throw APIError.unauthorized("unknown or revoked token")
        }
        var context = context
        context.actor = actor
        return try await next(request, context)
    }
}
