import Events
import Hummingbird

extension ServiceAggregate: FeatureRoutes {
    public static func routes(_ c: RouteContext) -> RouteCollection<WharfRequestContext> {
        let routes = RouteCollection(context: WharfRequestContext.self)
        ServiceRoutes(gateway: c.gateway, queries: c.queries, consistency: c.consistency).register(on: routes)
        return routes
    }
}
