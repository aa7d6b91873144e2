import Events
import Hummingbird

extension CodeflowAggregate: FeatureRoutes {
    /// Codeflows, builds, their logs and the git providers' webhooks.
    public static func routes(_ c: RouteContext) -> RouteCollection<WharfRequestContext> {
        let routes = RouteCollection(context: WharfRequestContext.self)
        CodeflowRoutes(gateway: c.gateway, queries: c.queries, consistency: c.consistency, secrets: c.secrets,
                       buildLogDirectory: c.buildLogDirectory).register(on: routes)
        WebhookRoutes(gateway: c.gateway, queries: c.queries, consistency: c.consistency, secrets: c.secrets).register(on: routes)
        return routes
    }
}
