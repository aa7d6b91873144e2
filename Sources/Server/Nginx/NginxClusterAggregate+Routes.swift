import Events
import Hummingbird

extension NginxClusterAggregate: FeatureRoutes {
    public static func routes(_ c: RouteContext) -> RouteCollection<WharfRequestContext> {
        let routes = RouteCollection(context: WharfRequestContext.self)
        NginxRoutes(gateway: c.gateway, queries: c.queries, consistency: c.consistency, tokens: c.tokens).register(on: routes)
        return routes
    }
}
