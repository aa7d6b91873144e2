import Events
import Foundation
import Mustache

/// What a cluster's config is rendered from: its sites, upstreams and the live members of the services they use.
public struct NginxRenderInput: Sendable {
    public var cluster: String
    public var environment: NginxEnvironment
    public var upstreams: [NginxUpstream]
    public var sites: [NginxSite]
    public var members: [String: NginxServiceMembers]
    public var testDomain: NginxTestDomain?

    public init(cluster: String, environment: NginxEnvironment, upstreams: [NginxUpstream], sites: [NginxSite],
                members: [String: NginxServiceMembers], testDomain: NginxTestDomain?) {
        self.cluster = cluster; self.environment = environment; self.upstreams = upstreams; self.sites = sites
        self.members = members; self.testDomain = testDomain
    }
}

/// Renders a cluster's nginx.conf. Pure and deterministic (sites and upstreams in name order), so the decider can
/// run it and equal inputs give byte-equal texts.
public enum NginxRenderer {
    private static let template: MustacheTemplate = {
        MustacheContentTypes.register(NginxContentType(), named: NginxContentType.name)
        do { return try MustacheTemplate(string: NginxTemplate.text) } catch { preconditionFailure("the nginx template does not parse: \(error)") }
    }()

    /// nginx's name for a user upstream, and for the upstream of a service published under the test domain.
    public static func upstreamID(_ name: String) -> String { "up.\(name)" }
    public static func serviceUpstreamID(_ service: String) -> String { "svc.\(service)" }

    /// Sentinel for an upstream without live servers: nginx needs one server, and a `down` one answers 502.
    static let noLiveServer = "127.0.0.1:9 down"

    public static func render(_ input: NginxRenderInput) -> String {
        var upstreams: [[String: Any]] = []
        for u in input.upstreams.sorted(by: { $0.name < $1.name }) {
            var comments: [String] = []
            var lines: [String] = []
            var primaries = 0
            for server in u.servers {
                let primary = server.backup != true
                let params = parameters(server)
                if let address = server.address {
                    lines.append(address + params)
                    if primary { primaries += 1 }
                } else if let service = server.service {
                    guard let m = input.members[service], !m.addresses.isEmpty else {
                        comments.append("service \(service): no live members")
                        continue
                    }
                    comments.append("service \(service): revision \(m.revision), \(m.image), \(m.addresses.count) live member\(m.addresses.count == 1 ? "" : "s")")
                    for address in m.addresses { lines.append(address + params) }
                    if primary { primaries += m.addresses.count }
                }
            }
            // nginx refuses an upstream without a non-backup server ("no servers in upstream").
            if primaries == 0 { lines.insert(noLiveServer, at: 0) }
            upstreams.append(["id": upstreamID(u.name), "comments": comments, "servers": lines])
        }
        var routes: [[String: Any]] = []
        var sites: [[String: Any]] = []
        for site in input.sites.sorted(by: { $0.name < $1.name }) {
            var locations: [[String: Any]] = []
            for (index, location) in site.locations.enumerated() {
                let main = upstreamID(location.upstream)
                var target: [String: Any] = ["upstream": main]
                if let canary = location.canary {
                    let key = "\(site.name.replacingOccurrences(of: "-", with: "_"))_\(index)"
                    let canaryID = upstreamID(canary.upstream)
                    // Each step falls back to the next: header map -> cookie map -> weighted split -> main upstream.
                    var fallback: [String: Any] = ["upstream": main]
                    var route: [String: Any] = [:]
                    switch canary.weightPercent ?? 0 {
                    case 0: break
                    case 100: fallback = ["upstream": canaryID]
                    case let percent:
                        route["split"] = ["key": key, "percent": percent, "canary": canaryID, "main": main] as [String: Any]
                        fallback = ["variable": "wharf_split_\(key)"]
                    }
                    var maps: [[String: Any]] = []
                    if let cookie = canary.cookie {
                        maps.append(["source": "cookie_\(cookie.name)", "variable": "cookie_\(key)", "value": cookie.value,
                                     "canary": canaryID, "fallback": fallback])
                        fallback = ["variable": "wharf_cookie_\(key)"]
                    }
                    if let header = canary.header {
                        let variable = header.name.lowercased().replacingOccurrences(of: "-", with: "_")
                        maps.append(["source": "http_\(variable)", "variable": "header_\(key)", "value": header.value,
                                     "canary": canaryID, "fallback": fallback])
                        fallback = ["variable": "wharf_header_\(key)"]
                    }
                    route["maps"] = maps
                    routes.append(route)
                    target = fallback
                }
                var entry: [String: Any] = ["path": location.path, "target": target]
                if let h = site.healthCheck {
                    entry["nextUpstream"] = [h.nextUpstreamOn.joined(separator: " ")]
                    if let t = h.tries { entry["tries"] = [t] }
                    if let t = h.connectTimeoutSeconds { entry["connectTimeout"] = [t] }
                }
                locations.append(entry)
            }
            var s: [String: Any] = ["listen": site.listen, "ssl": site.tls != nil, "serverNames": site.serverNames.joined(separator: " "),
                                    "locations": locations]
            if let tls = site.tls { s["tls"] = ["certificate": tls.certificate, "key": tls.key] }
            sites.append(s)
        }
        if let domain = input.testDomain {
            for (service, m) in input.members.sorted(by: { $0.key < $1.key }) where !m.addresses.isEmpty {
                upstreams.append(["id": serviceUpstreamID(service),
                                  "comments": ["service \(service): revision \(m.revision), \(m.image), published as \(service).\(domain.wildcard)"],
                                  "servers": m.addresses])
                sites.append(["listen": domain.listen, "ssl": false, "serverNames": "\(service).\(domain.wildcard)",
                              "locations": [["path": "/", "target": ["upstream": serviceUpstreamID(service)]] as [String: Any]]])
            }
        }
        let context: [String: Any] = ["cluster": input.cluster, "environment": input.environment.rawValue, "upstreams": upstreams,
                                      "routes": routes, "sites": sites]
        return template.render(context)
    }

    private static func parameters(_ s: NginxUpstreamServer) -> String {
        var p = ""
        if let w = s.weight { p += " weight=\(w)" }
        if let m = s.maxFails { p += " max_fails=\(m)" }
        if let t = s.failTimeoutSeconds { p += " fail_timeout=\(t)s" }
        if s.backup == true { p += " backup" }
        if s.down == true { p += " down" }
        return p
    }

    /// The text a node runs: the version's text with every `listen` bound at the node's address, when it has one.
    public static func nodeText(_ text: String, listenAddress: String?) -> String {
        guard let address = listenAddress else { return text }
        let bind = address.contains(":") ? "[\(address)]" : address
        let marker = "        listen "
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix(marker) ? marker + bind + ":" + line.dropFirst(marker.count) : String(line)
        }.joined(separator: "\n")
    }
}
