/// One spelling of a repository's address for matching webhooks to codeflows: a GitLab push names the project by
/// its HTTP and SSH URLs, a GitHub push by clone and SSH URLs, and a codeflow by whichever its team wrote.
/// Scheme, user and a trailing ".git" or "/" are dropped, the host is lowercased:
/// "https://GitLab.example.com/team/app.git" and "git@gitlab.example.com:team/app" are both "gitlab.example.com/team/app".
public enum RepositoryKey {
    public static func normalize(_ url: String) -> String {
        var rest = Substring(url)
        if rest.hasPrefix("file://") { return "file" + trimmed(rest.dropFirst("file://".count)) }
        var scpLike = true
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...]; scpLike = false }
        if let at = rest.firstIndex(of: "@"), !rest[..<at].contains("/") { rest = rest[rest.index(after: at)...] }
        // host:path (scp-like) reads as host/path; host:port/path keeps its port.
        let hostEnd = rest.firstIndex(where: { $0 == "/" || (scpLike && $0 == ":") }) ?? rest.endIndex
        let host = rest[..<hostEnd].lowercased()
        var path = rest[hostEnd...]
        if path.first == ":" || path.first == "/" { path = path.dropFirst() }
        return host + "/" + trimmed(path)
    }

    private static func trimmed(_ path: Substring) -> Substring {
        var p = path
        while p.hasSuffix("/") { p = p.dropLast() }
        if p.hasSuffix(".git") { p = p.dropLast(4) }
        while p.hasSuffix("/") { p = p.dropLast() }
        return p
    }
}
