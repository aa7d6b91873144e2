import HTTPTypes

/// The one table of who may call what: every route the API serves, with the requirement its caller must meet.
/// Deny by default: a request that matches no entry is refused (a test proves every served route has one).
public enum PolicyTable {
    public struct Entry: Sendable {
        public var method: HTTPRequest.Method
        /// As registered with the router: "/v1/services/:name/scale".
        public var path: String
        public var requirement: Requirement
        let segments: [Substring]
    }

    static func e(_ method: HTTPRequest.Method, _ path: String, _ requirement: Requirement) -> Entry {
        Entry(method: method, path: path, requirement: requirement, segments: path.split(separator: "/"))
    }

    public static let entries: [Entry] = [
        e(.get, "/healthz", .open),
        e(.get, "/metrics", .open),
        // Services: a team's own, by its role in the service's business line.
        e(.post, "/v1/services", .line(.manage, .body("businessLine"))),
        e(.get, "/v1/services", .filteredList),
        e(.get, "/v1/services/:name", .line(.read, .service("name"))),
        e(.get, "/v1/services/:name/revisions", .line(.read, .service("name"))),
        e(.patch, "/v1/services/:name", .line(.manage, .service("name"))),
        e(.delete, "/v1/services/:name", .line(.manage, .service("name"))),
        e(.post, "/v1/services/:name/scale", .line(.deploy, .service("name"))),
        e(.post, "/v1/services/:name/upgrade", .line(.deploy, .service("name"))),
        e(.post, "/v1/services/:name/rollback", .line(.deploy, .service("name"))),
        // Reading a secret's value is an owner's act, recorded in the log.
        e(.post, "/v1/services/:name/secret-env/:variable/reveal", .line(.manage, .service("name"))),
        // Where a service's containers run is for the platform (its cluster workers), not for teams.
        e(.put, "/v1/services/:name/addresses", .infrastructureWrite),
        // Kubernetes clusters: platform operators register and retire them; platform roles read them.
        e(.post, "/v1/clusters", .infrastructureWrite),
        e(.get, "/v1/clusters", .infrastructureRead),
        e(.get, "/v1/clusters/:name", .infrastructureRead),
        e(.post, "/v1/clusters/:name/cordon", .infrastructureWrite),
        e(.post, "/v1/clusters/:name/uncordon", .infrastructureWrite),
        e(.post, "/v1/clusters/:name/drain", .infrastructureWrite),
        e(.delete, "/v1/clusters/:name", .infrastructureWrite),
        // A service's placement over clusters: operators set it, the service's line reads it.
        e(.put, "/v1/services/:name/placement", .infrastructureWrite),
        e(.get, "/v1/services/:name/placement", .line(.read, .service("name"))),
        // What runs of a service, and what ran: the service's line reads it.
        e(.get, "/v1/services/:name/instances", .line(.read, .service("name"))),
        e(.get, "/v1/services/:name/history", .line(.read, .service("name"))),
        e(.get, "/v1/services/:name/rollout", .line(.read, .service("name"))),
        // One pod out of the load balancer and back: what a developer of the line does while looking at it.
        e(.post, "/v1/services/:name/instances/:cluster/:pod/rotation", .line(.deploy, .service("name"))),
        // Recreating a pod and reading its log: a developer's acts too. A debug container runs any image inside the
        // pod's namespaces (its files, its secrets): an owner's act, like revealing a secret.
        e(.post, "/v1/services/:name/instances/:cluster/:pod/recreate", .line(.deploy, .service("name"))),
        e(.post, "/v1/services/:name/instances/:cluster/:pod/logs", .line(.deploy, .service("name"))),
        e(.post, "/v1/services/:name/instances/:cluster/:pod/debug", .line(.manage, .service("name"))),
        e(.get, "/v1/services/:name/operations", .line(.read, .service("name"))),
        e(.get, "/v1/services/:name/operations/:id", .line(.read, .service("name"))),
        // The Nginx fleet: platform operators.
        e(.post, "/v1/nginx/clusters", .infrastructureWrite),
        e(.get, "/v1/nginx/clusters", .infrastructureRead),
        e(.get, "/v1/nginx/clusters/:cluster", .infrastructureRead),
        e(.post, "/v1/nginx/clusters/:cluster/nodes", .infrastructureWrite),
        e(.get, "/v1/nginx/clusters/:cluster/nodes", .infrastructureRead),
        e(.delete, "/v1/nginx/clusters/:cluster/nodes/:node", .infrastructureWrite),
        e(.post, "/v1/nginx/clusters/:cluster/nodes/:node/token", .infrastructureWrite),
        e(.put, "/v1/nginx/clusters/:cluster/upstreams/:name", .infrastructureWrite),
        e(.delete, "/v1/nginx/clusters/:cluster/upstreams/:name", .infrastructureWrite),
        e(.put, "/v1/nginx/clusters/:cluster/sites/:name", .infrastructureWrite),
        e(.delete, "/v1/nginx/clusters/:cluster/sites/:name", .infrastructureWrite),
        e(.get, "/v1/nginx/clusters/:cluster/versions", .infrastructureRead),
        e(.get, "/v1/nginx/clusters/:cluster/versions/:version", .infrastructureRead),
        e(.get, "/v1/nginx/clusters/:cluster/diff", .infrastructureRead),
        e(.post, "/v1/nginx/clusters/:cluster/rollback", .infrastructureWrite),
        e(.get, "/v1/nginx/agent/clusters/:cluster/nodes/:node/desired", .agent),
        e(.post, "/v1/nginx/agent/clusters/:cluster/nodes/:node/reports", .agent),
        // Codeflows and builds: a team's own, by its role in the line of the service they build.
        e(.get, "/v1/codeflows", .filteredList),
        e(.put, "/v1/codeflows/:name", .line(.manage, .serviceInBody("service"))),
        e(.get, "/v1/codeflows/:name", .line(.read, .codeflow("name"))),
        e(.post, "/v1/codeflows/:name/builds", .line(.deploy, .codeflow("name"))),
        e(.get, "/v1/builds", .filteredList),
        e(.get, "/v1/builds/:id", .line(.read, .build("id"))),
        e(.get, "/v1/builds/:id/log", .line(.read, .build("id"))),
        e(.post, "/v1/builds/:id/cancel", .line(.deploy, .build("id"))),
        e(.post, "/v1/builds/:id/retry", .line(.deploy, .build("id"))),
        // Git providers sign their deliveries with the codeflow's secret; the handler checks it.
        e(.post, "/v1/webhooks/gitlab", .webhook),
        e(.post, "/v1/webhooks/github", .webhook),
        // The audit: everything for platform roles, a member's lines (and their own acts) for others.
        e(.get, "/v1/audit", .filteredList),
        // People, lines, roles and tokens.
        e(.get, "/v1/whoami", .anyone),
        e(.get, "/v1/auth/can-i", .anyone),
        e(.post, "/v1/users", .platformWrite),
        e(.get, "/v1/users", .platformRead),
        e(.put, "/v1/users/:name/disabled", .platformWrite),
        e(.post, "/v1/users/:name/tokens", .selfOrAdmin("name")),
        e(.get, "/v1/users/:name/tokens", .selfOrReader("name")),
        e(.delete, "/v1/tokens/:id", .tokenOwner("id")),
        e(.put, "/v1/platform-roles/:user", .platformWrite),
        e(.post, "/v1/business-lines", .platformWrite),
        e(.get, "/v1/business-lines", .filteredList),
        e(.put, "/v1/business-lines/:line/members/:user", .line(.manage, .line("line"))),
        e(.delete, "/v1/business-lines/:line/members/:user", .line(.manage, .line("line"))),
    ]

    /// The entry for a request and its path parameters. Among entries that match, literal segments win over
    /// parameters, left to right (so "/v1/nginx/agent/..." is never read as a cluster named "agent").
    public static func match(method: HTTPRequest.Method, path: String) -> (entry: Entry, parameters: [String: String])? {
        let segments = path.split(separator: "/")
        var best: (entry: Entry, parameters: [String: String], literals: [Bool])?
        for entry in entries where entry.method == method && entry.segments.count == segments.count {
            var parameters: [String: String] = [:]
            var literals: [Bool] = []
            var matches = true
            for (pattern, actual) in zip(entry.segments, segments) {
                if pattern.first == ":" {
                    parameters[String(pattern.dropFirst())] = String(actual)
                    literals.append(false)
                } else if pattern == actual {
                    literals.append(true)
                } else {
                    matches = false
                    break
                }
            }
            guard matches else { continue }
            if let current = best, !literals.lexicographicallyPrecedes(current.literals, by: { $0 && !$1 }) { continue }
            best = (entry, parameters, literals)
        }
        return best.map { ($0.entry, $0.parameters) }
    }
}
