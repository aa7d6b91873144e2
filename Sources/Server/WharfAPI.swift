import EventLog
import Hummingbird
import Logging
import Prometheus
import Projections

/// Every route the API serves, as (method, path) with OpenAPI-style parameters. schemas/openapi.yaml must list
/// exactly these; a test keeps the two in step.
public enum APIRoutes {
    public static let all: [(method: String, path: String)] = [
        ("GET", "/healthz"), ("GET", "/metrics"),
        ("POST", "/v1/services"), ("GET", "/v1/services"),
        ("GET", "/v1/services/{name}"), ("PATCH", "/v1/services/{name}"), ("DELETE", "/v1/services/{name}"),
        ("POST", "/v1/services/{name}/scale"), ("POST", "/v1/services/{name}/upgrade"), ("POST", "/v1/services/{name}/rollback"),
        ("GET", "/v1/services/{name}/revisions"),
        ("PUT", "/v1/services/{name}/addresses"),
        ("GET", "/v1/audit"),
        ("POST", "/v1/nginx/clusters"), ("GET", "/v1/nginx/clusters"), ("GET", "/v1/nginx/clusters/{cluster}"),
        ("POST", "/v1/nginx/clusters/{cluster}/nodes"), ("GET", "/v1/nginx/clusters/{cluster}/nodes"),
        ("DELETE", "/v1/nginx/clusters/{cluster}/nodes/{node}"), ("POST", "/v1/nginx/clusters/{cluster}/nodes/{node}/token"),
        ("PUT", "/v1/nginx/clusters/{cluster}/upstreams/{name}"), ("DELETE", "/v1/nginx/clusters/{cluster}/upstreams/{name}"),
        ("PUT", "/v1/nginx/clusters/{cluster}/sites/{name}"), ("DELETE", "/v1/nginx/clusters/{cluster}/sites/{name}"),
        ("GET", "/v1/nginx/clusters/{cluster}/versions"), ("GET", "/v1/nginx/clusters/{cluster}/versions/{version}"),
        ("GET", "/v1/nginx/clusters/{cluster}/diff"), ("POST", "/v1/nginx/clusters/{cluster}/rollback"),
        ("GET", "/v1/nginx/agent/clusters/{cluster}/nodes/{node}/desired"),
        ("POST", "/v1/nginx/agent/clusters/{cluster}/nodes/{node}/reports"),
    ]
}

/// Builds the HTTP router over a running Wharf runtime.
public enum WharfAPI {
    public static func router(gateway: CommandGateway, database: Database, tokens: TokenStore,
                              registry: PrometheusCollectorRegistry) -> Router<WharfRequestContext> {
        let router = Router(context: WharfRequestContext.self)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(tokens: tokens))
        let queries = ReadModelQueries(database: database)
        let consistency = ConsistencyWait(queries: queries, log: gateway.log)
        SystemRoutes(database: database, registry: registry).register(on: router)
        ServiceRoutes(gateway: gateway, queries: queries, consistency: consistency).register(on: router)
        AuditRoutes(queries: queries, consistency: consistency).register(on: router)
        NginxRoutes(gateway: gateway, queries: queries, consistency: consistency, tokens: tokens).register(on: router)
        return router
    }
}
