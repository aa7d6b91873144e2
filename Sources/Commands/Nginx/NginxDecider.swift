import Crypto
import Events

/// decide(command, cluster state) -> events | rejection for Nginx clusters. Pure: rendering and diffing are pure
/// functions of the state, so every change that alters the rendered config carries its new version (number, full
/// text, SHA-256, unified diff) as a fact in the log; the version's actor, time and reason come from the envelope.
public enum NginxDecider {
    public static func decide(_ command: Command, state: NginxClusterState?) -> Result<[Event], Rejection> {
        let errors = NginxValidation.validate(command)
        if !errors.isEmpty {
            return .failure(Rejection(.invalid, errors.map(\.description).joined(separator: "; ")))
        }
        if let c = command.as(CreateNginxCluster.self) {
            if state != nil { return .failure(Rejection(.conflict, "nginx cluster \"\(c.name)\" already exists")) }
            var s = NginxClusterState(name: c.name, environment: c.environment, nodes: [:],
                                      upstreams: Dictionary(c.upstreams.map { ($0.name, $0) }) { a, _ in a },
                                      sites: Dictionary(c.sites.map { ($0.name, $0) }) { a, _ in a }, members: [:], testDomain: c.testDomain,
                                      versions: [:], contents: [:], latestVersion: 0, applied: [:])
            if let problem = references(s) ?? NginxLimits.check(s, previous: nil) { return .failure(problem) }
            let created = Event(NginxClusterCreated(name: c.name, environment: c.environment, nodes: c.nodes,
                                                                        upstreams: c.upstreams, sites: c.sites, testDomain: c.testDomain))
            return version(of: s, number: 1, reason: c.reason ?? "cluster created", previous: "").map { [created, $0] }
        }
        guard let s = state else {
            return .failure(Rejection(.notFound, "nginx cluster \"\(clusterName(command))\" does not exist"))
        }
        switch command.payload {
        case let c as AddNginxNode:
            if s.nodes[c.node.name] != nil { return .failure(Rejection(.conflict, "node \"\(c.node.name)\" is already in cluster \"\(s.name)\"")) }
            return .success([Event(NginxNodeAdded(cluster: s.name, node: c.node))])
        case let c as RemoveNginxNode:
            if s.nodes[c.node] == nil { return .failure(Rejection(.notFound, "cluster \"\(s.name)\" has no node \"\(c.node)\"")) }
            return .success([Event(NginxNodeRemoved(cluster: s.name, node: c.node))])
        case let c as PutNginxUpstream:
            var next = s
            next.upstreams[c.upstream.name] = c.upstream
            let verb = s.upstreams[c.upstream.name] == nil ? "added" : "changed"
            return change(command, s, next, Event(NginxUpstreamPut(cluster: s.name, upstream: c.upstream)),
                          reason: c.reason ?? "upstream \(c.upstream.name) \(verb)", what: "upstream \"\(c.upstream.name)\"")
        case let c as DeleteNginxUpstream:
            guard s.upstreams[c.name] != nil else { return .failure(Rejection(.notFound, "cluster \"\(s.name)\" has no upstream \"\(c.name)\"")) }
            var next = s
            next.upstreams[c.name] = nil
            return change(command, s, next, Event(NginxUpstreamDeleted(cluster: s.name, name: c.name)),
                          reason: c.reason ?? "upstream \(c.name) deleted", what: "upstream \"\(c.name)\"")
        case let c as PutNginxSite:
            var next = s
            next.sites[c.site.name] = c.site
            let verb = s.sites[c.site.name] == nil ? "added" : "changed"
            return change(command, s, next, Event(NginxSitePut(cluster: s.name, site: c.site)),
                          reason: c.reason ?? "site \(c.site.name) \(verb)", what: "site \"\(c.site.name)\"")
        case let c as DeleteNginxSite:
            guard s.sites[c.name] != nil else { return .failure(Rejection(.notFound, "cluster \"\(s.name)\" has no site \"\(c.name)\"")) }
            var next = s
            next.sites[c.name] = nil
            return change(command, s, next, Event(NginxSiteDeleted(cluster: s.name, name: c.name)),
                          reason: c.reason ?? "site \(c.name) deleted", what: "site \"\(c.name)\"")
        case let c as SyncNginxServiceMembers:
            if s.members[c.members.service] == c.members {
                return .success([.unchanged(command, "cluster \"\(s.name)\" already routes service \"\(c.members.service)\" to these members")])
            }
            var next = s
            next.members[c.members.service] = c.members
            let count = c.members.addresses.count
            return change(command, s, next, Event(NginxServiceMembersSynced(cluster: s.name, members: c.members)),
                          reason: "service \(c.members.service) now has \(count) live member\(count == 1 ? "" : "s") (revision \(c.members.revision))",
                          what: "service \"\(c.members.service)\"", allowUnchangedText: true)
        case let c as RollbackNginxConfig:
            guard let target = s.versions[c.version] else {
                return .failure(Rejection(.invalid, "cluster \"\(s.name)\" has no version \(c.version) (versions 1-\(s.latestVersion) exist)"))
            }
            if target.valid == false {
                return .failure(Rejection(.conflict, "version \(c.version) of cluster \"\(s.name)\" failed nginx -t and cannot be applied"))
            }
            if let carried = c.content, sha256(carried.text) != target.sha256
                || NginxClusterState.sourceSha256(upstreams: carried.upstreams, sites: carried.sites) != target.sourceSha256 {
                return .failure(Rejection(.invalid, "the content sent for version \(c.version) of cluster \"\(s.name)\" is not the content that version was made of"))
            }
            guard let content = s.contents[c.version] ?? c.content else {
                return .failure(Rejection(.invalid, "version \(c.version) of cluster \"\(s.name)\" is older than the newest \(NginxClusterState.keptContents) versions kept whole; the rollback must carry its content (the API adds it)"))
            }
            if s.latestVersion > 0, s.versions[s.latestVersion]?.sha256 == target.sha256 {
                return .success([.unchanged(command, "the latest version of cluster \"\(s.name)\" already has version \(c.version)'s text")])
            }
            let rolledBack = Event(NginxConfigRolledBack(
                cluster: s.name, toVersion: c.version, upstreams: content.upstreams.sorted { $0.name < $1.name },
                sites: content.sites.sorted { $0.name < $1.name }))
            let number = s.latestVersion + 1
            let text = content.text
            let created = Event(NginxConfigVersionCreated(
                cluster: s.name, version: number, reason: c.reason ?? "rollback to version \(c.version)", text: text, sha256: sha256(text),
                diff: UnifiedDiff.make(from: s.latestText, to: text, oldLabel: "version \(s.latestVersion)", newLabel: "version \(number)"),
                rolledBackTo: c.version))
            return .success([rolledBack, created])
        case let c as RecordNginxValidation:
            guard let v = s.versions[c.version] else { return .failure(Rejection(.notFound, "cluster \"\(s.name)\" has no version \(c.version)")) }
            if v.valid != nil { return .failure(Rejection(.conflict, "version \(c.version) of cluster \"\(s.name)\" was validated already")) }
            return .success([Event(NginxConfigValidated(cluster: s.name, version: c.version, valid: c.valid, message: c.message,
                                                        signature: c.valid ? c.signature : nil))])
        case let c as RecordNginxNodeReport:
            guard s.nodes[c.node] != nil else { return .failure(Rejection(.notFound, "cluster \"\(s.name)\" has no node \"\(c.node)\"")) }
            guard c.version == 0 || s.versions[c.version] != nil else {
                return .failure(Rejection(.notFound, "cluster \"\(s.name)\" has no version \(c.version)"))
            }
            if c.outcome == .applied, s.versions[c.version]?.valid != true {
                return .failure(Rejection(.conflict, "version \(c.version) of cluster \"\(s.name)\" has not passed nginx -t; it cannot have been applied"))
            }
            return .success([Event(NginxNodeReported(cluster: s.name, node: c.node, version: c.version, outcome: c.outcome,
                                                                  message: c.message, liveSha256: c.liveSha256))])
        default:
            return .failure(Rejection(.invalid, "\(command.type) is not a command for an nginx cluster"))
        }
    }

    /// A change of sites, upstreams or members: unchanged if it changes nothing, a new version if the text changes.
    private static func change(_ command: Command, _ s: NginxClusterState, _ next: NginxClusterState, _ event: Event, reason: String, what: String,
                               allowUnchangedText: Bool = false) -> Result<[Event], Rejection> {
        if let problem = references(next) ?? NginxLimits.check(next, previous: s) { return .failure(problem) }
        if !allowUnchangedText, next.upstreams == s.upstreams, next.sites == s.sites {
            return .success([.unchanged(command, "the change to \(what) changes nothing on cluster \"\(s.name)\"")])
        }
        let previous = s.latestText
        return version(of: next, number: s.latestVersion + 1, reason: reason, previous: previous, previousNumber: s.latestVersion).map { created -> [Event] in
            if let v = created.as(NginxConfigVersionCreated.self), v.text == previous { return [event] }
            return [event, created]
        }
    }

    /// The new version's event, or a rejection when its text is over `NginxLimits.maxConfigBytes` (checked before the
    /// diff, whose cost grows with the text).
    private static func version(of s: NginxClusterState, number: Int, reason: String, previous: String,
                                previousNumber: Int = 0) -> Result<Event, Rejection> {
        let text = NginxRenderer.render(s.renderInput)
        if let problem = NginxLimits.check(text: text, previous: previous, cluster: s.name) { return .failure(problem) }
        let diff = previous.isEmpty ? "" : UnifiedDiff.make(from: previous, to: text, oldLabel: "version \(previousNumber)", newLabel: "version \(number)")
        return .success(Event(NginxConfigVersionCreated(cluster: s.name, version: number, reason: reason, text: text,
                                                        sha256: sha256(text), diff: diff)))
    }

    /// Locations must route to upstreams of the cluster; sites may not claim the same name on the same port.
    static func references(_ s: NginxClusterState) -> Rejection? {
        var claimed: [String: String] = [:]
        for site in s.sites.values.sorted(by: { $0.name < $1.name }) {
            for location in site.locations {
                for upstream in [location.upstream] + (location.canary.map { [$0.upstream] } ?? []) where s.upstreams[upstream] == nil {
                    return Rejection(.invalid, "site \"\(site.name)\" location \(location.path) routes to upstream \"\(upstream)\", which cluster \"\(s.name)\" does not have")
                }
            }
            for name in site.serverNames {
                if let other = claimed["\(name):\(site.listen)"] {
                    return Rejection(.conflict, "sites \"\(other)\" and \"\(site.name)\" both claim \(name) on port \(site.listen)")
                }
                claimed["\(name):\(site.listen)"] = site.name
            }
        }
        return nil
    }

    public static func sha256(_ text: String) -> String { HashChain.hex(SHA256.hash(data: Array(text.utf8))) }

    private static func clusterName(_ command: Command) -> String {
        AggregateKey.split(command.aggregate)?.id ?? command.aggregate
    }
}
