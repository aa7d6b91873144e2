import Events

/// An Nginx cluster as its decider sees it: folded from its events, nothing else.
public struct NginxClusterState: Hashable, Sendable, Codable {
    public struct Version: Hashable, Sendable, Codable {
        public var text: String
        public var sha256: String
        /// The sites and upstreams it was rendered from, so a rollback restores them too.
        public var upstreams: [String: NginxUpstream]
        public var sites: [String: NginxSite]
        /// nil until the nginx worker has run `nginx -t` on it.
        public var valid: Bool?
    }

    public var name: String
    public var environment: NginxEnvironment
    public var nodes: [String: NginxNode]
    public var upstreams: [String: NginxUpstream]
    public var sites: [String: NginxSite]
    public var members: [String: NginxServiceMembers]
    public var testDomain: NginxTestDomain?
    public var versions: [Int: Version]
    public var latestVersion: Int
    /// Per node: the last version it reported applied.
    public var applied: [String: Int]

    public var latest: Version? { versions[latestVersion] }

    public var renderInput: NginxRenderInput {
        NginxRenderInput(cluster: name, environment: environment, upstreams: Array(upstreams.values), sites: Array(sites.values),
                         members: members, testDomain: testDomain)
    }

    /// Folds one event into the state. Pure; events of other aggregates leave it as it is.
    public static func evolve(_ state: NginxClusterState?, _ envelope: EventEnvelope) -> NginxClusterState? {
        if let e = envelope.event.as(NginxClusterCreated.self) {
            return NginxClusterState(name: e.name, environment: e.environment, nodes: Dictionary(e.nodes.map { ($0.name, $0) }) { a, _ in a },
                                     upstreams: Dictionary(e.upstreams.map { ($0.name, $0) }) { a, _ in a },
                                     sites: Dictionary(e.sites.map { ($0.name, $0) }) { a, _ in a }, members: [:], testDomain: e.testDomain,
                                     versions: [:], latestVersion: 0, applied: [:])
        }
        guard var s = state else { return state }
        switch envelope.event.payload {
        case let e as NginxNodeAdded: s.nodes[e.node.name] = e.node
        case let e as NginxNodeRemoved: s.nodes[e.node] = nil; s.applied[e.node] = nil
        case let e as NginxUpstreamPut: s.upstreams[e.upstream.name] = e.upstream
        case let e as NginxUpstreamDeleted: s.upstreams[e.name] = nil
        case let e as NginxSitePut: s.sites[e.site.name] = e.site
        case let e as NginxSiteDeleted: s.sites[e.name] = nil
        case let e as NginxConfigRolledBack:
            s.upstreams = Dictionary(e.upstreams.map { ($0.name, $0) }) { a, _ in a }
            s.sites = Dictionary(e.sites.map { ($0.name, $0) }) { a, _ in a }
        case let e as NginxServiceMembersSynced: s.members[e.members.service] = e.members
        case let e as NginxConfigVersionCreated:
            s.versions[e.version] = Version(text: e.text, sha256: e.sha256, upstreams: s.upstreams, sites: s.sites, valid: nil)
            s.latestVersion = e.version
        case let e as NginxConfigValidated: s.versions[e.version]?.valid = e.valid
        case let e as NginxNodeReported:
            if e.outcome == .applied { s.applied[e.node] = e.version }
        default: break
        }
        return s
    }
}
