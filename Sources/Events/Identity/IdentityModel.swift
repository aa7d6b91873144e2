/// Who may do what: platform-wide roles and roles in a business line.

/// Roles over the whole platform.
public enum PlatformRole: String, Codable, Hashable, Sendable, CaseIterable, Comparable {
    /// Everything.
    case admin
    /// Nginx and Kubernetes clusters; reads everything.
    case `operator`
    /// Reads everything, the whole audit and `verify` included; writes nothing.
    case auditor

    public static func < (a: PlatformRole, b: PlatformRole) -> Bool { a.rawValue < b.rawValue }
}

/// A user's role in one business line; each includes the ones before it.
public enum LineRole: String, Codable, Hashable, Sendable, CaseIterable, Comparable {
    /// Reads the line's services, their history and audit.
    case viewer
    /// Also deploys: scale, upgrade, rollback, trigger builds.
    case developer
    /// Also creates and destroys services, changes their config and grants roles in the line.
    case owner

    var rank: Int { LineRole.allCases.firstIndex(of: self)! }
    public static func < (a: LineRole, b: LineRole) -> Bool { a.rank < b.rank }
}

extension AggregateKey {
    public static func user(_ name: String) -> String { "\(UserAggregate.kind)/\(name)" }
    public static func businessLine(_ name: String) -> String { "\(BusinessLineAggregate.kind)/\(name)" }
    public static func token(_ id: String) -> String { "\(TokenAggregate.kind)/\(id)" }
    public static func access(_ actor: String) -> String { "\(AccessAggregate.kind)/\(actor)" }
}
