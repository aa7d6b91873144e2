import Events
import Foundation

/// Rendered blocks of nginx.conf by their inputs. Rendering is a pure function of those inputs, so a cached block
/// is exactly the text rendering would give: the cache changes how fast a version is made, never what it says. A
/// typical change touches one upstream or site of a cluster; the rest of its blocks come from here (a 1,200-line
/// config then costs about a tenth of a full render; `wharf bench nginx` prints both).
///
/// Bounded by the bytes it holds: past the limit it is emptied and fills again with what is in use.
final class NginxBlockCache: @unchecked Sendable {
    /// An upstream block depends on the upstream and on the members of the services its servers name, in order.
    struct UpstreamKey: Hashable {
        var upstream: NginxUpstream
        var members: [NginxServiceMembers?]
    }

    /// A site's canary routing blocks (before all server blocks in the file) and its server block.
    struct SiteBlocks {
        var routes: String
        var server: String
    }

    private let lock = NSLock()
    private var upstreams: [UpstreamKey: String] = [:]
    private var sites: [NginxSite: SiteBlocks] = [:]
    private var bytes = 0
    let limitBytes: Int

    init(limitBytes: Int) { self.limitBytes = limitBytes }

    func upstream(_ key: UpstreamKey, render: () -> String) -> String {
        if let hit = lock.withLock({ upstreams[key] }) { return hit }
        let text = render()
        lock.withLock {
            makeRoom(text.utf8.count)
            upstreams[key] = text
        }
        return text
    }

    func site(_ site: NginxSite, render: () -> SiteBlocks) -> SiteBlocks {
        if let hit = lock.withLock({ sites[site] }) { return hit }
        let blocks = render()
        lock.withLock {
            makeRoom(blocks.routes.utf8.count + blocks.server.utf8.count)
            sites[site] = blocks
        }
        return blocks
    }

    func removeAll() {
        lock.withLock {
            upstreams.removeAll()
            sites.removeAll()
            bytes = 0
        }
    }

    /// Called with the lock held.
    private func makeRoom(_ count: Int) {
        if bytes + count > limitBytes {
            upstreams.removeAll()
            sites.removeAll()
            bytes = 0
        }
        bytes += count
    }
}
