import Commands
import EventLog
import Events
import Hummingbird
import Logging
import Prometheus
import Projections

/// Builds the HTTP router over a running Wharf runtime: the system's own routes (health, metrics, audit) and the
/// route collection of every registered aggregate kind that has routes.
public enum WharfAPI {
    public static func router(gateway: CommandGateway, database: Database, tokens: TokenStore, health: PartitionHealth,
                              readiness: Readiness = Readiness(), registry: PrometheusCollectorRegistry,
                              sso: JWTValidator? = nil, secrets: SecretKeyring, signer: CheckpointSigner? = nil,
                              buildLogDirectory: String? = nil, readWait: Duration = .seconds(5)) -> Router<WharfRequestContext> {
        let router = Router(context: WharfRequestContext.self)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ErrorMiddleware())
        let queries = ReadModelQueries(database: database)
        let authorizer = Authorizer(queries: queries, tokens: tokens, sso: sso, provision: { identity in
            // A first-seen SSO user is made through the log, with no roles (an admin or a line owner grants them).
            let email = identity.email.flatMap { IdentityValidation.isEmail($0) ? $0 : nil } ?? "\(identity.user)@sso.invalid"
            let display = identity.displayName.flatMap { (1...200).contains($0.utf8.count) && !$0.contains(where: \.isNewline) ? $0 : nil }
            _ = try await gateway.submit(Command(CreateUser(name: identity.user, displayName: display ?? identity.user, email: email)),
                                         actor: "system:sso", correlationId: nil, idempotencyKey: "sso:user:\(identity.user)")
        })
        let consistency = ConsistencyWait(queries: queries, log: gateway.log, timeout: readWait)
        router.add(middleware: AuthMiddleware(authorizer: authorizer, gateway: gateway, consistency: consistency, logger: database.logger))
        let context = RouteContext(gateway: gateway, queries: queries, consistency: consistency,
                                   tokens: tokens, authorizer: authorizer, secrets: secrets, buildLogDirectory: buildLogDirectory)
        SystemRoutes(database: database, log: gateway.log, health: health, readiness: readiness, registry: registry).register(on: router)
        AuditRoutes(queries: queries, consistency: context.consistency, coverage: CheckpointCoverage(log: gateway.log, signer: signer))
            .register(on: router)
        AuthRoutes(authorizer: authorizer).register(on: router)
        for kind in Aggregates.registered {
            if let feature = kind as? any FeatureRoutes.Type { router.addRoutes(feature.routes(context)) }
        }
        return router
    }

    /// (method, path) of every route a router serves, paths OpenAPI-style ("/v1/services/{name}").
    public static func routeTable(_ router: Router<WharfRequestContext>) -> [(method: String, path: String)] {
        router.routes.map { (method: $0.method.rawValue, path: $0.path.description) }
    }
}
