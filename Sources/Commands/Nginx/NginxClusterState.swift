import Crypto
import Events

/// An Nginx cluster as its decider sees it: folded from its events, nothing else.
public struct NginxClusterState: Hashable, Sendable, Codable {
    /// What the decider remembers of every version: hashes, not texts, so memory does not grow with the texts of
    /// a cluster's whole history.
    public struct Version: Hashable, Sendable, Codable {
        public var sha256: String
        /// SHA-256 of the upstreams and sites it was rendered from (`sourceSha256`), so that a rollback past the
        /// kept contents can prove that the content it carries is this version's.
        public var sourceSha256: String
        /// nil until the nginx worker has run `nginx -t` on it.
        public var valid: Bool?
    }

    /// How many of the newest versions keep their whole content (text, upstreams, sites) in memory.
    public static let keptContents = 16

    public var name: String
    public var environment: NginxEnvironment
    public var nodes: [String: NginxNode]
    public var upstreams: [String: NginxUpstream]
    public var sites: [String: NginxSite]
    public var members: [String: NginxServiceMembers]
    public var testDomain: NginxTestDomain?
    public var versions: [Int: Version]
    /// The whole content of the newest `keptContents` versions; older ones are hashes in `versions` only.
    public var contents: [Int: NginxVersionContent]
    public var latestVersion: Int
    /// Per node: the last version it reported applied.
    public var applied: [String: Int]

    /// The newest version's text ("" before the first), which every new version is diffed against.
    public var latestText: String { contents[latestVersion]?.text ?? "" }

    /// The hash that `Version.sourceSha256` records: canonical JSON of the upstreams and sites, each sorted by name.
    public static func sourceSha256(upstreams: [NginxUpstream], sites: [NginxSite]) -> String {
        let source = NginxVersionContent(text: "", upstreams: upstreams.sorted { $0.name < $1.name }, sites: sites.sorted { $0.name < $1.name })
        let json = (try? CanonicalJSON.encode(source)) ?? ""
        return HashChain.hex(SHA256.hash(data: Array(json.utf8)))
    }

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
                                     versions: [:], contents: [:], latestVersion: 0, applied: [:])
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
            let upstreams = Array(s.upstreams.values), sites = Array(s.sites.values)
            s.versions[e.version] = Version(sha256: e.sha256, sourceSha256: sourceSha256(upstreams: upstreams, sites: sites), valid: nil)
            s.contents[e.version] = NginxVersionContent(text: e.text, upstreams: upstreams.sorted { $0.name < $1.name },
                                                        sites: sites.sorted { $0.name < $1.name })
            s.contents[e.version - keptContents] = nil
            s.latestVersion = e.version
        case let e as NginxConfigValidated: s.versions[e.version]?.valid = e.valid
        case let e as NginxNodeReported:
            if e.outcome == .applied { s.applied[e.node] = e.version }
        default: break
        }
        return s
    }
}
