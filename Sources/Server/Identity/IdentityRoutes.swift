import Commands
import Events
import Foundation
import Hummingbird
import Projections

/// Users, their tokens and platform roles; business lines and their members. Every change is a command in the log.
struct IdentityRoutes {
    let gateway: CommandGateway
    let queries: ReadModelQueries
    let consistency: ConsistencyWait
    let authorizer: Authorizer

    func register(on router: RouteCollection<WharfRequestContext>) {
        router.post("/v1/users") { request, context in
            var request = request
            let b = try await StrictJSON.decode(CreateUserRequest.self, from: &request, shape: CreateUserRequest.shape)
            // A name taken is answered here without appending; the decider still refuses a racing duplicate.
            if try await queries.userExists(b.name) { throw APIError(.conflict, "user \"\(b.name)\" already exists", field: "name") }
            return try await submit(Command(CreateUser(name: b.name, displayName: b.displayName, email: b.email)), request, context, created: true)
        }
        router.get("/v1/users") { request, _ in
            try await consistency.wait(for: request)
            return JSONResponse.raw(try await queries.usersJSON())
        }
        router.put("/v1/users/:name/disabled") { request, context in
            let name = try context.dnsLabelParameter("name", describedAs: "user name")
            var request = request
            let b = try await StrictJSON.decode(DisabledRequest.self, from: &request, shape: DisabledRequest.shape)
            defer { authorizer.forget(user: name) }
            return try await submit(Command(SetUserDisabled(name: name, disabled: b.disabled)), request, context, projected: b.disabled)
        }
        router.post("/v1/users/:name/tokens") { request, context in
            let user = try context.dnsLabelParameter("name", describedAs: "user name")
            var request = request
            let b = try await StrictJSON.decode(CreateTokenRequest.self, from: &request, shape: CreateTokenRequest.shape)
            if let at = b.expiresAt {
                guard let date = WharfTime.parse(at) else {
                    throw APIError(.unprocessableContent, "expiresAt must be an RFC 3339 time such as 2027-01-31T00:00:00Z", field: "expiresAt")
                }
                guard date > Date() else { throw APIError(.unprocessableContent, "expiresAt is in the past", field: "expiresAt") }
            }
            try await consistency.wait(for: request)
            try await requireUser(user, field: "name")
            let secret = TokenStore.generateToken()
            let id = TokenStore.generateTokenId()
            let command = Command(IssueToken(id: id, user: user, description: b.description, sha256: TokenStore.hash(secret),
                                             expiresAt: b.expiresAt.flatMap(WharfTime.parse).map(WharfTime.format)))
            let result = try await gateway.submit(command, actor: try context.requireActor(), correlationId: nil, idempotencyKey: nil)
            guard case .accepted = result.kind else { return try WriteResponse.make(result) }
            var body: [String: Any] = ["id": id, "token": secret, "user": user, "description": b.description, "commandId": result.commandId]
            if let at = b.expiresAt { body["expiresAt"] = at }
            if let p = result.position { body["position"] = p.description }
            return try JSONResponse.object(body, status: .created)
        }
        router.get("/v1/users/:name/tokens") { request, context in
            let user = try context.dnsLabelParameter("name", describedAs: "user name")
            try await consistency.wait(for: request)
            try await requireUser(user, field: "name")
            return JSONResponse.raw(try await queries.tokensJSON(of: user))
        }
        router.delete("/v1/tokens/:id") { request, context in
            let id = try context.parameters.require("id")
            defer { authorizer.forget() }
            return try await submit(Command(RevokeToken(id: id)), request, context, projected: true)
        }
        router.put("/v1/platform-roles/:user") { request, context in
            let user = try context.dnsLabelParameter("user", describedAs: "user name")
            var request = request
            let b = try await StrictJSON.decode(PlatformRolesRequest.self, from: &request, shape: PlatformRolesRequest.shape)
            try await consistency.wait(for: request)
            try await requireUser(user, field: "user")
            defer { authorizer.forget(user: user) }
            return try await submit(Command(SetPlatformRoles(user: user, roles: b.roles)), request, context)
        }
        router.post("/v1/business-lines") { request, context in
            var request = request
            let b = try await StrictJSON.decode(CreateBusinessLineRequest.self, from: &request, shape: CreateBusinessLineRequest.shape)
            if try await queries.businessLineExists(b.name) {
                throw APIError(.conflict, "business line \"\(b.name)\" already exists", field: "name")
            }
            return try await submit(Command(CreateBusinessLine(name: b.name, displayName: b.displayName)), request, context, created: true)
        }
        router.get("/v1/business-lines") { request, context in
            try await consistency.wait(for: request)
            let p = try context.requirePrincipal()
            return JSONResponse.raw(try await queries.businessLinesJSON(only: p.readsAll ? nil : p.grants.lines.keys.sorted()))
        }
        router.put("/v1/business-lines/:line/members/:user") { request, context in
            let line = try context.dnsLabelParameter("line", describedAs: "business line")
            let user = try context.dnsLabelParameter("user", describedAs: "user name")
            var request = request
            let b = try await StrictJSON.decode(MemberRoleRequest.self, from: &request, shape: MemberRoleRequest.shape)
            try await consistency.wait(for: request)
            try await requireUser(user, field: "user")
            guard try await queries.businessLineExists(line) else { throw APIError(.notFound, "no business line \"\(line)\"", field: "line") }
            defer { authorizer.forget(user: user) }
            return try await submit(Command(SetMemberRole(line: line, user: user, role: b.role)), request, context)
        }
        router.delete("/v1/business-lines/:line/members/:user") { request, context in
            let line = try context.dnsLabelParameter("line", describedAs: "business line")
            let user = try context.dnsLabelParameter("user", describedAs: "user name")
            defer { authorizer.forget(user: user) }
            return try await submit(Command(RemoveMember(line: line, user: user)), request, context)
        }
    }

    /// Another aggregate's fact, so the API checks it in the read model: an unknown user is a 404 and appends
    /// nothing. A client that just created the user passes `?after=<position>` of that write.
    private func requireUser(_ user: String, field: String) async throws {
        guard try await queries.userExists(user) else { throw APIError(.notFound, "no user \"\(user)\"", field: field) }
    }

    private func submit(_ command: Command, _ request: Request, _ context: WharfRequestContext, created: Bool = false,
                        projected: Bool = false) async throws -> Response {
        try await IntentSubmission.submit(command, gateway: gateway, request: request, context: context, created: created,
                                          projected: projected ? consistency : nil)
    }
}

extension UserAggregate: FeatureRoutes {
    /// One collection serves users, tokens, platform roles and business lines; it is mounted once, here.
    public static func routes(_ c: RouteContext) -> RouteCollection<WharfRequestContext> {
        let routes = RouteCollection(context: WharfRequestContext.self)
        IdentityRoutes(gateway: c.gateway, queries: c.queries, consistency: c.consistency, authorizer: c.authorizer).register(on: routes)
        return routes
    }
}
