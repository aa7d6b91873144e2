import Hummingbird

/// Per-request context: the authenticated actor ("user:admin"), set by `AuthMiddleware`.
public struct WharfRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var actor: String?
    public var role: String?

    public init(source: Source) {
        coreContext = .init(source: source)
        actor = nil
        role = nil
    }

    /// Bodies are collected by `StrictJSON` with its own limit; this caps anything else.
    public var maxUploadSize: Int { StrictJSON.maxBodyBytes }

    func requireActor() throws -> String {
        guard let actor else { throw APIError.unauthorized("missing bearer token") }
        return actor
    }
}
