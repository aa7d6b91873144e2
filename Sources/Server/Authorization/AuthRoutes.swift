import Events
import Foundation
import Hummingbird
import Projections

/// /v1/whoami and /v1/auth/can-i: what the caller is and may do, answered by the same checks the policy runs.
struct AuthRoutes {
    let authorizer: Authorizer

    func register(on router: Router<WharfRequestContext>) {
        router.get("/v1/whoami") { _, context in
            let p = try context.requirePrincipal()
            let kind: String
            switch p.kind {
            case .user: kind = "user"
            case .agent: kind = "agent"
            case .legacyAdmin: kind = "legacy-admin-token"
            }
            var body: [String: Any] = ["actor": p.actor, "kind": kind, "platformRoles": p.grants.platform.map(\.rawValue).sorted(),
                                       "businessLines": Dictionary(uniqueKeysWithValues: p.grants.lines.map { ($0.key, $0.value.rawValue) })]
            if let user = p.user { body["user"] = user }
            return try JSONResponse.object(body)
        }
        router.get("/v1/auth/can-i") { request, context in
            let p = try context.requirePrincipal()
            let q = request.uri.queryParameters
            guard let verb = q.get("verb"), !verb.isEmpty else {
                throw APIError(.badRequest, "give verb: read, deploy, manage or write", field: "verb")
            }
            guard let resource = q.get("resource"), !resource.isEmpty else {
                throw APIError(.badRequest, "give resource: service/NAME, business-line/NAME, nginx-cluster/NAME, user/NAME, users or audit",
                               field: "resource")
            }
            let (requirement, parameters) = try Self.requirement(verb: verb, resource: resource)
            let missing = try await authorizer.check(requirement, principal: p, parameters: parameters, bodyLine: nil)
            var body: [String: Any] = ["allowed": missing == nil, "verb": verb, "resource": resource, "actor": p.actor]
            if let missing { body["reason"] = "needs \(missing)" }
            return try JSONResponse.object(body)
        }
    }

    /// The requirement that a (verb, resource) question stands for, as the policy table applies it to routes.
    static func requirement(verb: String, resource: String) throws -> (Requirement, [String: String]) {
        let (kind, id) = AggregateKey.split(resource).map { ($0.kind, Optional($0.id)) } ?? (resource, nil)
        func bad() -> APIError {
            APIError(.badRequest, "cannot ask \"\(verb)\" on \"\(resource)\": verbs are read, deploy, manage (services, business lines) and read, write (others)",
                     field: "verb")
        }
        switch (kind, verb) {
        case ("service", _):
            guard let id, let v = Requirement.LineVerb(rawValue: verb) else { throw bad() }
            return (.line(v, .service("name")), ["name": id])
        case ("business-line", _):
            guard let id, let v = Requirement.LineVerb(rawValue: verb) else { throw bad() }
            return (.line(v, .line("line")), ["line": id])
        case ("nginx-cluster", "read"), ("nginx-clusters", "read"): return (.infrastructureRead, [:])
        case ("nginx-cluster", "write"), ("nginx-clusters", "write"): return (.infrastructureWrite, [:])
        case ("user", "read"): return (.selfOrReader("name"), ["name": id ?? ""])
        case ("users", "read"): return (.platformRead, [:])
        case ("user", "write"), ("users", "write"): return (.platformWrite, [:])
        case ("audit", "read"): return (.filteredList, [:])
        case ("audit", "verify"): return (.platformRead, [:])
        default: throw bad()
        }
    }
}
