import Events
import Projections

/// What a route needs from its caller. Platform admins pass every requirement.
public enum Requirement: Sendable, Hashable {
    public enum LineVerb: String, Sendable, Hashable {
        case read, deploy, manage
        /// The least line role that grants the verb.
        var role: LineRole {
            switch self {
            case .read: .viewer
            case .deploy: .developer
            case .manage: .owner
            }
        }
    }

    /// Where a line-scoped route's business line comes from.
    public enum LineFrom: Sendable, Hashable {
        /// A field of the JSON body (a create names its line).
        case body(String)
        /// The line of the service named by a path parameter.
        case service(String)
        /// A path parameter that is the line itself.
        case line(String)
        /// The line of the service named by a field of the JSON body (a codeflow names the service it builds).
        case serviceInBody(String)
        /// The line of the service that the codeflow named by a path parameter builds.
        case codeflow(String)
        /// The line of the service that the build named by a path parameter is for.
        case build(String)
    }

    /// No token needed (probes, scrapers).
    case open
    /// Any authenticated user: whoami, can-i.
    case anyone
    /// Reads of users and the like (admin, operator, auditor) or writes of them (admin).
    case platformRead, platformWrite
    /// Nginx and Kubernetes clusters: reads (admin, operator, auditor), writes (admin, operator).
    case infrastructureRead, infrastructureWrite
    /// A verb in a business line; operators and auditors also read every line.
    case line(LineVerb, LineFrom)
    /// Lists filtered to what the caller may see (services, business lines, audit): any user.
    case filteredList
    /// The user named by a path parameter, or a platform admin.
    case selfOrAdmin(String)
    /// The user named by a path parameter, or whoever reads everything.
    case selfOrReader(String)
    /// The owner of the token named by a path parameter, or a platform admin.
    case tokenOwner(String)
    /// A node agent's own endpoints (the handler checks the node), or a platform admin.
    case agent
    /// Git providers' webhooks: no token; the handler checks the delivery's secret or signature against the codeflows
    /// of the repository it names, and answers 401 (appending nothing) when none matches.
    case webhook

    /// The requirement in words, for a 403's reason and the audit's `denied` row.
    public var describes: String {
        switch self {
        case .open: "nothing"
        case .anyone: "a user token"
        case .platformRead: "a platform role (admin, operator or auditor)"
        case .platformWrite: "the admin platform role"
        case .infrastructureRead: "a platform role (admin, operator or auditor)"
        case .infrastructureWrite: "the admin or operator platform role"
        case .line(let verb, _): "\(verb.role.rawValue) in the business line"
        case .filteredList: "a user token"
        case .selfOrAdmin: "to be that user, or admin"
        case .selfOrReader: "to be that user, or a platform role"
        case .tokenOwner: "to own the token, or admin"
        case .agent: "the agent token of that node"
        case .webhook: "the codeflow's webhook secret"
        }
    }
}
