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
        guard let identity = try await tokens.identity(for: String(parts[1])) else {
            throw APIError.unauthorized("unknown or revoked token")
        }
        // Node agents' tokens open only the agent endpoints (which also check the node).
        if identity.role == "agent", !(segments.count > 3 && segments[0] == "v1" && segments[1] == "nginx" && segments[2] == "agent") {
            throw APIError(.forbidden, "an nginx agent token may only call /v1/nginx/agent/...")
        }
        var context = context
        context.actor = identity.actor
        context.role = identity.role
        return try await next(request, context)
    }
}
