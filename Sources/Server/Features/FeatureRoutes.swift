import EventLog
import Events
import Hummingbird
import Projections

/// What a feature's routes may use.
public struct RouteContext: Sendable {
    public let gateway: CommandGateway
    public let queries: ReadModelQueries
    public let consistency: ConsistencyWait
    public let tokens: TokenStore
    public let authorizer: Authorizer
    /// Seals and opens secret env values.
    public let secrets: SecretKeyring
    /// Where this node's build worker writes build logs (nil: it builds nothing).
    public let buildLogDirectory: String?
}

/// The HTTP part of an aggregate kind: a feature conforms its `AggregateKind` to this in its own folder and
/// fills its own route collection; the router mounts the collection of every registered kind.
public protocol FeatureRoutes: AggregateKind {
    static func routes(_ context: RouteContext) -> RouteCollection<WharfRequestContext>
}
