import Events
import Hummingbird

extension ServiceAggregate: FeatureRoutes {
    public static func routes(_ c: RouteContext) -> RouteCollection<WharfRequestContext> {
        let routes = RouteCollection(context: WharfRequestContext.self)
        ServiceRoutes(gateway: c.gateway, queries: c.queries, consistency: c.consistency,
                      secrets: ServiceSecrets(keyring: c.secrets, gateway: c.gateway)).register(on: routes)
        return routes
    }
}
