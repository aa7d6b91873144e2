import Events
import Foundation

/// Field rules for Nginx cluster commands. Every value that ends up in a generated config is held to a small
/// character set for its kind, so no name, path, header, cookie or address can end its directive (`;`), open or
/// close a block (`{` `}`), quote (`"` `'`), start a comment (`#`), expand a variable (`$`) or a new line. Such
/// input is refused here, before anything is appended; the renderer's escaping is a second wall behind this one.
public enum NginxValidation {
    public static let maxSites = 500
    public static let maxUpstreams = 500
    public static let maxServersPerUpstream = 5000
    public static let maxLocations = 100
    public static let maxNodes = 200
    public static let nextUpstreamConditions: Set<String> = ["error", "timeout", "invalid_header", "http_500", "http_502", "http_503",
                                                             "http_504", "http_403", "http_404", "http_429", "non_idempotent", "off"]

    public static func validate(_ command: Command) -> [ValidationError] {
        var e: [ValidationError] = []
        switch command.payload {
        case let c as CreateNginxCluster:
            label(c.name, "name", &e)
            if c.nodes.count > maxNodes { e.append(.init(field: "nodes", message: "at most \(maxNodes) nodes")) }
            for (i, node) in c.nodes.enumerated() { check(node: node, field: "nodes[\(i)]", into: &e) }
            unique(c.nodes.map(\.name), "nodes", &e)
            if c.upstreams.count > maxUpstreams { e.append(.init(field: "upstreams", message: "at most \(maxUpstreams) upstreams")) }
            for (i, u) in c.upstreams.enumerated() { check(upstream: u, field: "upstreams[\(i)]", into: &e) }
            unique(c.upstreams.map(\.name), "upstreams", &e)
            if c.sites.count > maxSites { e.append(.init(field: "sites", message: "at most \(maxSites) sites")) }
            for (i, s) in c.sites.enumerated() { check(site: s, field: "sites[\(i)]", into: &e) }
            unique(c.sites.map(\.name), "sites", &e)
            if let t = c.testDomain {
                if c.environment != .test { e.append(.init(field: "testDomain", message: "only test clusters publish services under a wildcard domain")) }
                if !ServiceValidation.isDNSSubdomain(t.wildcard) {
                    e.append(.init(field: "testDomain.wildcard", message: "must be a DNS name like test.example.com (got \(quoted(t.wildcard)))"))
                }
                port(t.listen, "testDomain.listen", &e)
            }
            check(reason: c.reason, into: &e)
        case let c as AddNginxNode:
            label(c.cluster, "cluster", &e)
            check(node: c.node, field: "node", into: &e)
        case let c as RemoveNginxNode:
            label(c.cluster, "cluster", &e)
            label(c.node, "node", &e)
        case let c as PutNginxUpstream:
            label(c.cluster, "cluster", &e)
            check(upstream: c.upstream, field: "upstream", into: &e)
            check(reason: c.reason, into: &e)
        case let c as DeleteNginxUpstream:
            label(c.cluster, "cluster", &e)
            label(c.name, "name", &e)
            check(reason: c.reason, into: &e)
        case let c as PutNginxSite:
            label(c.cluster, "cluster", &e)
            check(site: c.site, field: "site", into: &e)
            check(reason: c.reason, into: &e)
        case let c as DeleteNginxSite:
            label(c.cluster, "cluster", &e)
            label(c.name, "name", &e)
            check(reason: c.reason, into: &e)
        case let c as RollbackNginxConfig:
            label(c.cluster, "cluster", &e)
            if c.version < 1 { e.append(.init(field: "version", message: "must be 1 or more")) }
            check(reason: c.reason, into: &e)
            // The content is checked against the version's hashes by the decider; here only its size is bounded.
            if let content = c.content {
                if content.text.utf8.count > NginxLimits.maxConfigBytes {
                    e.append(.init(field: "content.text", message: "at most \(NginxLimits.maxConfigBytes) bytes"))
                }
                if content.upstreams.count > NginxLimits.maxUpstreams {
                    e.append(.init(field: "content.upstreams", message: "at most \(NginxLimits.maxUpstreams) upstreams"))
                }
                if content.sites.count > NginxLimits.maxSites { e.append(.init(field: "content.sites", message: "at most \(NginxLimits.maxSites) sites")) }
            }
        case let c as SyncNginxServiceMembers:
            label(c.cluster, "cluster", &e)
            label(c.members.service, "members.service", &e)
            for (i, a) in c.members.addresses.enumerated() { check(address: a, field: "members.addresses[\(i)]", into: &e) }
            if !ServiceValidation.isImageReference(c.members.image) && !c.members.image.isEmpty {
                e.append(.init(field: "members.image", message: "must be an image reference (got \(quoted(c.members.image)))"))
            }
        case let c as RecordNginxValidation:
            label(c.cluster, "cluster", &e)
            if c.version < 1 { e.append(.init(field: "version", message: "must be 1 or more")) }
            if c.message.utf8.count > 16_384 { e.append(.init(field: "message", message: "at most 16384 bytes")) }
        case let c as RecordNginxNodeReport:
            label(c.cluster, "cluster", &e)
            label(c.node, "node", &e)
            if c.version < 0 { e.append(.init(field: "version", message: "must be 0 or more")) }
            if c.message.utf8.count > 16_384 { e.append(.init(field: "message", message: "at most 16384 bytes")) }
            if let sha = c.liveSha256, sha.utf8.count != 64 || !sha.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) {
                e.append(.init(field: "liveSha256", message: "must be 64 lowercase hex digits"))
            }
        default:
            break
        }
        return e
    }

    // MARK: parts

    static func check(node: NginxNode, field: String, into e: inout [ValidationError]) {
        label(node.name, "\(field).name", &e)
        if let ip = node.listenAddress, !isIPAddress(ip) {
            e.append(.init(field: "\(field).listenAddress", message: "must be an IPv4 or IPv6 address (got \(quoted(ip)))"))
        }
    }

    static func check(upstream u: NginxUpstream, field: String, into e: inout [ValidationError]) {
        label(u.name, "\(field).name", &e)
        if u.servers.isEmpty { e.append(.init(field: "\(field).servers", message: "give at least one server")) }
        if u.servers.count > maxServersPerUpstream { e.append(.init(field: "\(field).servers", message: "at most \(maxServersPerUpstream) servers")) }
        for (i, s) in u.servers.enumerated() {
            let f = "\(field).servers[\(i)]"
            switch (s.address, s.service) {
            case (let address?, nil): check(address: address, field: "\(f).address", into: &e)
            case (nil, let service?): label(service, "\(f).service", &e)
            default: e.append(.init(field: f, message: "give exactly one of address (a VM backend host:port) and service (a Wharf service)"))
            }
            if let w = s.weight, !(1...1000).contains(w) { e.append(.init(field: "\(f).weight", message: "must be between 1 and 1000")) }
            if let m = s.maxFails, !(0...100).contains(m) { e.append(.init(field: "\(f).maxFails", message: "must be between 0 and 100")) }
            if let t = s.failTimeoutSeconds, !(1...3600).contains(t) {
                e.append(.init(field: "\(f).failTimeoutSeconds", message: "must be between 1 and 3600"))
            }
            if s.backup == true, s.down == true { e.append(.init(field: f, message: "a server cannot be both backup and down")) }
        }
        let keys = u.servers.map { $0.address ?? "service:\($0.service ?? "")" }
        unique(keys, "\(field).servers", &e)
    }

    static func check(site s: NginxSite, field: String, into e: inout [ValidationError]) {
        label(s.name, "\(field).name", &e)
        if s.serverNames.isEmpty || s.serverNames.count > 100 {
            e.append(.init(field: "\(field).serverNames", message: "give 1-100 server names"))
        }
        for (i, name) in s.serverNames.enumerated() where !isServerName(name) {
            e.append(.init(field: "\(field).serverNames[\(i)]",
                           message: "must be a host name like shop.example.com or *.example.com: lowercase letters, digits, '-' and dots (got \(quoted(name)))"))
        }
        unique(s.serverNames, "\(field).serverNames", &e)
        port(s.listen, "\(field).listen", &e)
        if let tls = s.tls {
            file(tls.certificate, "\(field).tls.certificate", &e)
            file(tls.key, "\(field).tls.key", &e)
        }
        if s.locations.isEmpty || s.locations.count > maxLocations {
            e.append(.init(field: "\(field).locations", message: "give 1-\(maxLocations) locations"))
        }
        for (i, l) in s.locations.enumerated() {
            let f = "\(field).locations[\(i)]"
            if !isLocationPath(l.path) {
                e.append(.init(field: "\(f).path", message: "must start with '/' and use only letters, digits and -._~/%!*+,:=@ (got \(quoted(l.path)))"))
            }
            label(l.upstream, "\(f).upstream", &e)
            if let c = l.canary {
                label(c.upstream, "\(f).canary.upstream", &e)
                if c.upstream == l.upstream { e.append(.init(field: "\(f).canary.upstream", message: "must differ from the location's upstream")) }
                if let w = c.weightPercent, !(0...100).contains(w) {
                    e.append(.init(field: "\(f).canary.weightPercent", message: "must be between 0 and 100 (got \(w))"))
                }
                if let h = c.header {
                    if !isHeaderName(h.name) {
                        e.append(.init(field: "\(f).canary.header.name", message: "must be 1-64 letters, digits or '-' (got \(quoted(h.name)))"))
                    }
                    matchValue(h.value, "\(f).canary.header.value", &e)
                }
                if let k = c.cookie {
                    if !isCookieName(k.name) {
                        e.append(.init(field: "\(f).canary.cookie.name", message: "must be 1-64 letters, digits or '_' (got \(quoted(k.name)))"))
                    }
                    matchValue(k.value, "\(f).canary.cookie.value", &e)
                }
                if c.weightPercent == nil, c.header == nil, c.cookie == nil {
                    e.append(.init(field: "\(f).canary", message: "give weightPercent, header or cookie"))
                }
            }
        }
        unique(s.locations.map(\.path), "\(field).locations", &e)
        if let h = s.healthCheck {
            if h.nextUpstreamOn.isEmpty { e.append(.init(field: "\(field).healthCheck.nextUpstreamOn", message: "give at least one condition")) }
            for (i, c) in h.nextUpstreamOn.enumerated() where !nextUpstreamConditions.contains(c) {
                e.append(.init(field: "\(field).healthCheck.nextUpstreamOn[\(i)]",
                               message: "must be one of \(nextUpstreamConditions.sorted().joined(separator: ", ")) (got \(quoted(c)))"))
            }
            if let t = h.tries, !(0...20).contains(t) { e.append(.init(field: "\(field).healthCheck.tries", message: "must be between 0 and 20")) }
            if let t = h.connectTimeoutSeconds, !(1...300).contains(t) {
                e.append(.init(field: "\(field).healthCheck.connectTimeoutSeconds", message: "must be between 1 and 300"))
            }
        }
    }

    static func check(reason: String?, into e: inout [ValidationError]) {
        guard let reason else { return }
        if reason.utf8.count > 500 || reason.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            e.append(.init(field: "reason", message: "must be at most 500 bytes without control characters"))
        }
    }

    // MARK: character sets

    /// "ip:port": an IPv4 address or a bracketed IPv6 address, and a port 1-65535. Host names are refused: nginx
    /// resolves an upstream's host names with the system resolver, blocking, while it loads a config, so one slow or
    /// failing DNS lookup would stall or fail `nginx -t` in the worker and every reload on the nodes, and the
    /// address that serves would be whatever DNS said then rather than what the log records.
    public static func check(address: String, field: String, into e: inout [ValidationError]) {
        if !isBackendAddress(address) {
            let hostName = address.lastIndex(of: ":").map { ServiceValidation.isDNSSubdomain(String(address[..<$0])) } ?? false
            e.append(.init(field: field, message: hostName
                ? "must be an IP address and port, e.g. 10.0.3.7:8080 or [fd00::7]:8080; host names are refused so that nginx never resolves names with DNS while loading the config (got \(quoted(address)))"
                : "must be ip:port, e.g. 10.0.3.7:8080 or [fd00::7]:8080 (got \(quoted(address)))"))
        }
    }

    public static func isBackendAddress(_ s: String) -> Bool {
        guard s.utf8.count <= 60, let colon = s.lastIndex(of: ":") else { return false }
        let host = String(s[..<colon]), portText = s[s.index(after: colon)...]
        guard let port = Int(portText), (1...65535).contains(port), portText.allSatisfy(\.isASCII), !portText.hasPrefix("+") else { return false }
        if host.hasPrefix("[") && host.hasSuffix("]") { return isIPv6(String(host.dropFirst().dropLast())) }
        return isIPv4(host)
    }

    public static func isServerName(_ s: String) -> Bool {
        if s.hasPrefix("*.") { return ServiceValidation.isDNSSubdomain(String(s.dropFirst(2))) }
        return ServiceValidation.isDNSSubdomain(s)
    }

    public static func isLocationPath(_ s: String) -> Bool {
        guard s.hasPrefix("/"), s.utf8.count <= 256 else { return false }
        return s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || "-._~/%!*+,:=@".utf8.contains(b)
        }
    }

    static func isHeaderName(_ s: String) -> Bool {
        (1...64).contains(s.utf8.count) && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d
        }
    }

    static func isCookieName(_ s: String) -> Bool {
        (1...64).contains(s.utf8.count) && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x5f
        }
    }

    /// Header and cookie values are written in double quotes: visible ASCII and spaces, minus what could end the
    /// quote, expand a variable or start a regex match (`~`) in a map.
    static func isMatchValue(_ s: String) -> Bool {
        (1...256).contains(s.utf8.count) && !s.hasPrefix("~") && s.utf8.allSatisfy { b in
            b >= 0x20 && b < 0x7f && !"\"'\\$;{}#".utf8.contains(b)
        }
    }

    static func isFilePath(_ s: String) -> Bool {
        guard s.hasPrefix("/"), s.utf8.count <= 1024 else { return false }
        let charsOK = s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || "-._/".utf8.contains(b)
        }
        return charsOK && !s.split(separator: "/").contains("..")
    }

    public static func isIPAddress(_ s: String) -> Bool { isIPv4(s) || isIPv6(s) }

    static func isIPv4(_ s: String) -> Bool {
        var addr = in_addr()
        return s.utf8.count <= 15 && inet_pton(AF_INET, s, &addr) == 1
    }

    static func isIPv6(_ s: String) -> Bool {
        var addr = in6_addr()
        return s.utf8.count <= 45 && inet_pton(AF_INET6, s, &addr) == 1
    }

    private static func label(_ value: String, _ field: String, _ e: inout [ValidationError]) {
        ServiceValidation.check(dnsLabel: value, field: field, into: &e)
    }

    private static func port(_ value: Int, _ field: String, _ e: inout [ValidationError]) {
        if !(1...65535).contains(value) { e.append(.init(field: field, message: "must be between 1 and 65535 (got \(value))")) }
    }

    private static func file(_ value: String, _ field: String, _ e: inout [ValidationError]) {
        if !isFilePath(value) {
            e.append(.init(field: field, message: "must be an absolute path of letters, digits and -._/ without '..' (got \(quoted(value)))"))
        }
    }

    private static func matchValue(_ value: String, _ field: String, _ e: inout [ValidationError]) {
        if !isMatchValue(value) {
            e.append(.init(field: field, message: "must be 1-256 visible ASCII characters or spaces, not starting with '~', without \" ' \\ $ ; { } # (got \(quoted(value)))"))
        }
    }

    private static func unique(_ values: [String], _ field: String, _ e: inout [ValidationError]) {
        var seen = Set<String>()
        for v in values where !seen.insert(v).inserted {
            e.append(.init(field: field, message: "\(quoted(v)) is listed twice"))
        }
    }

    private static func quoted(_ s: String) -> String { ServiceValidation.quoted(s) }
}
