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
/// run it and equal inputs give byte-equal texts. The file is a header, the upstream blocks, every site's canary
/// routing, the server blocks and a closing brace; blocks whose inputs are unchanged come from `blockCache`.
public enum NginxRenderer {
    struct Templates {
        let header, upstream, route, site: MustacheTemplate
    }

    private static let templates: Templates = {
        MustacheContentTypes.register(NginxContentType(), named: NginxContentType.name)
        func parse(_ text: String, _ name: String) -> MustacheTemplate {
            do { return try MustacheTemplate(string: text) } catch { preconditionFailure("the nginx \(name) template does not parse: \(error)") }
        }
        return Templates(header: parse(NginxTemplate.header, "header"), upstream: parse(NginxTemplate.upstream, "upstream"),
                         route: parse(NginxTemplate.route, "route"), site: parse(NginxTemplate.site, "site"))
    }()

    /// 64 MB: the blocks of about 1,000 clusters of the size `wharf bench nginx` uses.
    static let blockCache = NginxBlockCache(limitBytes: 64 << 20)

    /// Forgets every rendered block (benchmarks measure a render from nothing with it).
    public static func clearBlockCache() { blockCache.removeAll() }

    /// nginx's name for a user upstream, and for the upstream of a service published under the test domain.
    public static func upstreamID(_ name: String) -> String { "up.\(name)" }
    public static func serviceUpstreamID(_ service: String) -> String { "svc.\(service)" }

    /// Sentinel for an upstream without live servers: nginx needs one server, and a `down` one answers 502.
    static let noLiveServer = "127.0.0.1:9 down"

    public static func render(_ input: NginxRenderInput) -> String {
        let t = templates
        var upstreamBlocks: [String] = [], routeBlocks: [String] = [], serverBlocks: [String] = []
        for u in input.upstreams.sorted(by: { $0.name < $1.name }) {
            let key = NginxBlockCache.UpstreamKey(upstream: u, members: u.servers.map { $0.service.flatMap { input.members[$0] } })
            upstreamBlocks.append(blockCache.upstream(key) { t.upstream.render(upstreamContext(u, members: input.members)) })
        }
        for site in input.sites.sorted(by: { $0.name < $1.name }) {
            let blocks = blockCache.site(site) { siteBlocks(site, t) }
            routeBlocks.append(blocks.routes)
            serverBlocks.append(blocks.server)
        }
        if let domain = input.testDomain {
            for (service, m) in input.members.sorted(by: { $0.key < $1.key }) where !m.addresses.isEmpty {
                upstreamBlocks.append(t.upstream.render([
                    "id": serviceUpstreamID(service),
                    "comments": ["service \(service): revision \(m.revision), \(m.image), published as \(service).\(domain.wildcard)"],
                    "serverLines": ServerLines(m.addresses).text] as [String: Any]))
                let location = Target.upstream(serviceUpstreamID(service)).context(
                    prefix: "target", into: ["path": "/", "nextUpstream": false, "tries": false, "connectTimeout": false])
                serverBlocks.append(t.site.render(["listen": domain.listen, "ssl": false, "serverNames": "\(service).\(domain.wildcard)",
                                                   "tls": false, "locations": [location]] as [String: Any]))
            }
        }
        var out = t.header.render(["cluster": input.cluster, "environment": input.environment.rawValue] as [String: Any])
        out.reserveCapacity(out.utf8.count + (upstreamBlocks + routeBlocks + serverBlocks).reduce(0) { $0 + $1.utf8.count } + 2)
        for block in upstreamBlocks { out += block }
        for block in routeBlocks { out += block }
        for block in serverBlocks { out += block }
        out += NginxTemplate.footer
        return out
    }

    /// An upstream's template context: its servers (a service's live members in its place), and comments that
    /// say which service revision they come from.
    private static func upstreamContext(_ u: NginxUpstream, members: [String: NginxServiceMembers]) -> [String: Any] {
        var comments: [String] = []
        var block = ServerLines()
        var primaries = 0
        for server in u.servers {
            let primary = server.backup != true
            if let address = server.address {
                block.append(address, server)
                if primary { primaries += 1 }
            } else if let service = server.service {
                guard let m = members[service], !m.addresses.isEmpty else {
                    comments.append("service \(service): no live members")
                    continue
                }
                comments.append("service \(service): revision \(m.revision), \(m.image), \(m.addresses.count) live member\(m.addresses.count == 1 ? "" : "s")")
                for address in m.addresses { block.append(address, server) }
                if primary { primaries += m.addresses.count }
            }
        }
        // nginx refuses an upstream without a non-backup server ("no servers in upstream").
        if primaries == 0 { block.prepend(noLiveServer) }
        return ["id": upstreamID(u.name), "comments": comments, "serverLines": block.text]
    }

    /// A site's canary routing blocks and its server block; they depend on the site alone.
    private static func siteBlocks(_ site: NginxSite, _ templates: Templates) -> NginxBlockCache.SiteBlocks {
        var routes: [[String: Any]] = []
        var locations: [[String: Any]] = []
        for (index, location) in site.locations.enumerated() {
            let main = upstreamID(location.upstream)
            var target = Target.upstream(main)
            if let canary = location.canary {
                let key = "\(site.name.replacingOccurrences(of: "-", with: "_"))_\(index)"
                let canaryID = upstreamID(canary.upstream)
                // Each step falls back to the next: header map -> cookie map -> weighted split -> main upstream.
                var fallback = Target.upstream(main)
                var route: [String: Any] = ["split": false]
                switch canary.weightPercent ?? 0 {
                case 0: break
                case 100: fallback = .upstream(canaryID)
                case let percent:
                    route["split"] = ["key": key, "percent": percent, "canary": canaryID, "main": main] as [String: Any]
                    fallback = .variable("wharf_split_\(key)")
                }
                var maps: [[String: Any]] = []
                if let cookie = canary.cookie {
                    maps.append(fallback.context(prefix: "fallback", into: ["source": "cookie_\(cookie.name)", "variable": "cookie_\(key)",
                                                                           "value": cookie.value, "canary": canaryID]))
                    fallback = .variable("wharf_cookie_\(key)")
                }
                if let header = canary.header {
                    let variable = header.name.lowercased().replacingOccurrences(of: "-", with: "_")
                    maps.append(fallback.context(prefix: "fallback", into: ["source": "http_\(variable)", "variable": "header_\(key)",
                                                                           "value": header.value, "canary": canaryID]))
                    fallback = .variable("wharf_header_\(key)")
                }
                route["maps"] = maps
                routes.append(route)
                target = fallback
            }
            // Every key the template reads is present (false when off), so no lookup climbs the context stack.
            var entry = target.context(prefix: "target", into: ["path": location.path, "nextUpstream": false, "tries": false, "connectTimeout": false])
            if let h = site.healthCheck {
                entry["nextUpstream"] = [h.nextUpstreamOn.joined(separator: " ")]
                if let t = h.tries { entry["tries"] = [t] }
                if let t = h.connectTimeoutSeconds { entry["connectTimeout"] = [t] }
            }
            locations.append(entry)
        }
        var s: [String: Any] = ["listen": site.listen, "ssl": site.tls != nil, "serverNames": site.serverNames.joined(separator: " "),
                                "tls": false, "locations": locations]
        if let tls = site.tls { s["tls"] = ["certificate": tls.certificate, "key": tls.key] }
        return NginxBlockCache.SiteBlocks(routes: routes.map { templates.route.render($0) }.joined(), server: templates.site.render(s))
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

/// Where a location (or a canary map's default) sends a request: an upstream, or the upstream an nginx variable holds.
private enum Target {
    case upstream(String)
    case variable(String)

    /// The context keys `<prefix>Variable` and `<prefix>Upstream`, one of them false.
    func context(prefix: String, into base: [String: Any]) -> [String: Any] {
        var out = base
        switch self {
        case .upstream(let id): out[prefix + "Variable"] = false; out[prefix + "Upstream"] = id
        case .variable(let name): out[prefix + "Variable"] = name; out[prefix + "Upstream"] = false
        }
        return out
    }
}

/// An upstream's `server` lines, written straight into UTF-8 bytes: a big cluster has thousands, and building
/// each as interpolated Strings (or as a Mustache section item) was most of the render time. Values go through the
/// NGINX content type's escaping, as the template's own values do.
struct ServerLines {
    private var bytes: [UInt8] = []
    private var prepended: String?

    init() { bytes.reserveCapacity(4096) }

    init(_ addresses: [String]) {
        self.init()
        for address in addresses { append(address, nil) }
    }

    mutating func append(_ address: String, _ server: NginxUpstreamServer?) {
        if !bytes.isEmpty { bytes.append(UInt8(ascii: "\n")) }
        write("        server ")
        NginxContentType.appendEscaped(address, to: &bytes)
        if let s = server {
            if let w = s.weight { write(" weight="); write(String(w)) }
            if let m = s.maxFails { write(" max_fails="); write(String(m)) }
            if let t = s.failTimeoutSeconds { write(" fail_timeout="); write(String(t)); write("s") }
            if s.backup == true { write(" backup") }
            if s.down == true { write(" down") }
        }
        write(";")
    }

    /// A first line, before those appended.
    mutating func prepend(_ server: String) { prepended = "        server \(server);" }

    /// The lines without a final newline (the template writes it).
    var text: String {
        let body = String(decoding: bytes, as: UTF8.self)
        guard let first = prepended else { return body }
        return body.isEmpty ? first : first + "\n" + body
    }

    private mutating func write(_ s: String) { bytes.append(contentsOf: s.utf8) }
}
