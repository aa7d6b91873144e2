import Events

/// An Nginx cluster as its decider sees it: folded from its events, nothing else.
public struct NginxClusterState: Hashable, Sendable {
    public struct Version: Hashable, Sendable {
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
        if case .nginxClusterCreated(let e) = envelope.event {
            return NginxClusterState(name: e.name, environment: e.environment, nodes: Dictionary(e.nodes.map { ($0.name, $0) }) { a, _ in a },
                                     upstreams: Dictionary(e.upstreams.map { ($0.name, $0) }) { a, _ in a },
                                     sites: Dictionary(e.sites.map { ($0.name, $0) }) { a, _ in a }, members: [:], testDomain: e.testDomain,
                                     versions: [:], latestVersion: 0, applied: [:])
        }
        guard var s = state else { return state }
        switch envelope.event {
        case .nginxNodeAdded(let e): s.nodes[e.node.name] = e.node
        case .nginxNodeRemoved(let e): s.nodes[e.node] = nil; s.applied[e.node] = nil
        case .nginxUpstreamPut(let e): s.upstreams[e.upstream.name] = e.upstream
        case .nginxUpstreamDeleted(let e): s.upstreams[e.name] = nil
        case .nginxSitePut(let e): s.sites[e.site.name] = e.site
        case .nginxSiteDeleted(let e): s.sites[e.name] = nil
        case .nginxConfigRolledBack(let e):
            s.upstreams = Dictionary(e.upstreams.map { ($0.name, $0) }) { a, _ in a }
            s.sites = Dictionary(e.sites.map { ($0.name, $0) }) { a, _ in a }
        case .nginxServiceMembersSynced(let e): s.members[e.members.service] = e.members
        case .nginxConfigVersionCreated(let e):
            s.versions[e.version] = Version(text: e.text, sha256: e.sha256, upstreams: s.upstreams, sites: s.sites, valid: nil)
            s.latestVersion = e.version
        case .nginxConfigValidated(let e): s.versions[e.version]?.valid = e.valid
        case .nginxNodeReported(let e):
            if e.outcome == .applied { s.applied[e.node] = e.version }
        default: break
        }
        return s
    }
}
