import Events
import Hummingbird

extension ClusterAggregate: FeatureRoutes {
    /// Kubernetes clusters: registration, listing, cordon, uncordon, drain, removal; placements; instances, their history and the operations on them.
    public static func routes(_ c: RouteContext) -> RouteCollection<WharfRequestContext> {
        let routes = RouteCollection(context: WharfRequestContext.self)
        ClusterRoutes(gateway: c.gateway, queries: c.queries, consistency: c.consistency, secrets: c.secrets).register(on: routes)
        PlacementRoutes(gateway: c.gateway, queries: c.queries, consistency: c.consistency).register(on: routes)
        InstanceRoutes(gateway: c.gateway, queries: c.queries, consistency: c.consistency).register(on: routes)
        InstanceOperationRoutes(gateway: c.gateway, queries: c.queries, consistency: c.consistency, secrets: c.secrets).register(on: routes)
        return routes
    }
}
