import Events

/// Caps on what one Nginx cluster may hold. A request is at most 1 MiB, but a cluster grows by many requests, and
/// its decider renders, diffs and keeps the whole text of every version: without a cap, enough upstreams, servers
/// or service members would make a decision take unbounded time and memory. The counts are checked before the
/// text is rendered (they bound the render), the rendered size after.
///
/// A change is refused only when it takes a count over its cap and makes it larger, so a cluster that is over a
/// cap (older history) can always be shrunk.
public enum NginxLimits {
    public static let maxUpstreams = 500
    public static let maxSites = 500
    /// Locations over all sites.
    public static let maxLocations = 5_000
    /// Server names over all sites.
    public static let maxServerNames = 5_000
    /// `server` lines over all upstreams: each VM address, each live member of every service an upstream names (at
    /// least one line per service), and on a test cluster every member of every published service.
    public static let maxServerLines = 20_000
    /// Bytes of the rendered nginx.conf.
    public static let maxConfigBytes = 4 << 20

    struct Counts: Equatable {
        var upstreams = 0, sites = 0, locations = 0, serverNames = 0, serverLines = 0

        init(_ s: NginxClusterState) {
            upstreams = s.upstreams.count
            sites = s.sites.count
            for site in s.sites.values {
                locations += site.locations.count
                serverNames += site.serverNames.count
            }
            for upstream in s.upstreams.values {
                for server in upstream.servers {
                    serverLines += server.service.map { max(1, s.members[$0]?.addresses.count ?? 0) } ?? 1
                }
            }
            if s.testDomain != nil { serverLines += s.members.values.reduce(0) { $0 + $1.addresses.count } }
        }
    }

    /// The first cap that `next` exceeds and that the change from `previous` (nil: a new cluster) makes worse.
    static func check(_ next: NginxClusterState, previous: NginxClusterState?) -> Rejection? {
        let after = Counts(next)
        let before = previous.map(Counts.init)
        let caps: [(KeyPath<Counts, Int>, Int, String)] = [
            (\.upstreams, maxUpstreams, "upstreams"), (\.sites, maxSites, "sites"),
            (\.locations, maxLocations, "locations over all sites"), (\.serverNames, maxServerNames, "server names over all sites"),
            (\.serverLines, maxServerLines, "upstream server lines (VM addresses plus live service members)"),
        ]
        for (count, cap, what) in caps where after[keyPath: count] > cap && after[keyPath: count] > before?[keyPath: count] ?? 0 {
            return Rejection(.invalid, "cluster \"\(next.name)\" would have \(after[keyPath: count]) \(what); the limit is \(cap) per cluster")
        }
        return nil
    }

    /// Refuses a rendered text over `maxConfigBytes` unless it is smaller than the one it replaces.
    static func check(text: String, previous: String, cluster: String) -> Rejection? {
        let bytes = text.utf8.count
        guard bytes > maxConfigBytes, bytes > previous.utf8.count else { return nil }
        return Rejection(.invalid, "cluster \"\(cluster)\" would render a config of \(bytes) bytes; the limit is \(maxConfigBytes) bytes (4 MiB) per cluster")
    }
}
