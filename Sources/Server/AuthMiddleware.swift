import Hummingbird

/// Every request needs `Authorization: Bearer <token>`; the token's actor goes on every command. Only /healthz
/// and /metrics stay open for probes and scrapers. The path is compared by its segments, as the router sees it,
/// so spellings like `//v1/audit` cannot slip past.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = WharfRequestContext
    let tokens: TokenStore
    static let open: Set<String> = ["healthz", "metrics"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/")
        if segments.count == 1, Self.open.contains(String(segments[0])) {
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
