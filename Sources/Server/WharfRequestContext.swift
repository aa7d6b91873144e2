import Hummingbird

/// Per-request context: the authenticated principal and its actor ("user:alice"), set by `AuthMiddleware`.
public struct WharfRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var actor: String?
    public var principal: Principal?
    /// The business line the request was authorized in (line-scoped routes, non-admin callers); carried on the
    /// command so the processor can re-check it against the log.
    public var authorizedLine: String?

    public init(source: Source) {
        coreContext = .init(source: source)
        actor = nil
        principal = nil
        authorizedLine = nil
    }

    func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError.unauthorized("missing bearer token") }
        return principal
    }

    /// Bodies are collected by `StrictJSON` with its own limit; this caps anything else.
    public var maxUploadSize: Int { StrictJSON.maxBodyBytes }

    func requireActor() throws -> String {
        guard let actor else { throw APIError.unauthorized("missing bearer token") }
        return actor
    }
}
