import Events

/// Field rules of codeflow, build and webhook commands. What a build script may do is bounded by the worker's
/// sandbox; these rules keep what reaches git, the shell and the Dockerfile from being read as something else
/// (a repository starting with "-" would be a git option, a newline in the start command a new Dockerfile line).
public enum CodeflowValidation {
    public static let maxScriptBytes = 64 * 1024
    public static let maxBranchGlobs = 32
    public static let maxDependencyFiles = 32
    public static let timeoutRange = 10...7200
    public static let parallelismRange = 1...64

    public static func validate(_ command: Command) -> [ValidationError] {
        var errors: [ValidationError] = []
        switch command.payload {
        case let c as PutCodeflow:
            name(c.name, "name", &errors)
            spec(c.spec, &errors)
            if let secret = c.webhookSecret, SealedSecret(secret) == nil {
                errors.append(.init(field: "webhookSecret", message: "must be sealed by the API (\(SealedSecret.prefix)...)"))
            }
        case let c as RequestBuild:
            buildId(c.id, &errors)
            name(c.codeflow, "codeflow", &errors)
            spec(c.spec, &errors)
            if !isRef(c.ref) { errors.append(.init(field: "ref", message: "must be a branch, tag or refs/... name (got \(ServiceValidation.quoted(c.ref)))")) }
            if let commit = c.commit, !isCommit(commit) { errors.append(.init(field: "commit", message: "must be a full hex commit id (40 or 64 characters)")) }
            if !(1...200).contains(c.trigger.user.utf8.count) || c.trigger.user.contains(where: \.isNewline) {
                errors.append(.init(field: "trigger.user", message: "must be 1-200 characters on one line"))
            }
            if let d = c.trigger.delivery, !isDelivery(d) { errors.append(.init(field: "trigger.delivery", message: "must be 1-128 of [A-Za-z0-9._-]")) }
            if let r = c.retryOf { buildId(r, &errors, field: "retryOf") }
        case let c as StartBuild:
            buildId(c.id, &errors)
            runner(c.runner, &errors)
        case let c as FinishBuild:
            buildId(c.id, &errors)
            runner(c.runner, &errors)
            if let commit = c.commit, !isCommit(commit) { errors.append(.init(field: "commit", message: "must be a full hex commit id")) }
            if c.outcome == .succeeded {
                if c.commit == nil { errors.append(.init(field: "commit", message: "a succeeded build names its commit")) }
                if !(c.image.map(ServiceValidation.isImageReference) ?? false) { errors.append(.init(field: "image", message: "a succeeded build names its image")) }
                if !(c.digest.map(isDigest) ?? false) { errors.append(.init(field: "digest", message: "must be sha256:<64 lowercase hex>")) }
            } else if (c.reason ?? "").isEmpty {
                errors.append(.init(field: "reason", message: "a failed build says why"))
            }
            if (c.reason?.utf8.count ?? 0) > 16_000 { errors.append(.init(field: "reason", message: "at most 16000 bytes")) }
            if c.phases.count > 16 || c.phases.contains(where: { !ServiceValidation.isDNSLabel($0.key) || $0.value < 0 }) {
                errors.append(.init(field: "phases", message: "at most 16 phases, names as DNS labels, milliseconds >= 0"))
            }
        case let c as CancelBuild:
            buildId(c.id, &errors)
        case let c as RecordWebhookIgnored:
            if !["gitlab", "github"].contains(c.provider) { errors.append(.init(field: "provider", message: "must be gitlab or github")) }
            if !isDelivery(c.delivery) { errors.append(.init(field: "delivery", message: "must be 1-128 of [A-Za-z0-9._-]")) }
            for (field, value, limit) in [("event", c.event, 100), ("repository", c.repository, 2048), ("ref", c.ref, 1024), ("user", c.user, 200),
                                          ("reason", c.reason, 1000)] where value.utf8.count > limit || value.contains(where: \.isNewline) {
                errors.append(.init(field: field, message: "at most \(limit) bytes on one line"))
            }
        default:
            errors.append(.init(field: "type", message: "not a codeflow, build or webhook command"))
        }
        return errors
    }

    static func name(_ value: String, _ field: String, _ errors: inout [ValidationError]) {
        if !ServiceValidation.isDNSLabel(value) {
            errors.append(.init(field: field, message: "must be a DNS label: 1-63 of [a-z0-9-], starting and ending with a letter or digit (got \(ServiceValidation.quoted(value)))"))
        }
    }

    static func spec(_ s: CodeflowSpec, _ errors: inout [ValidationError]) {
        name(s.service, "service", &errors)
        if !isRepository(s.repository) {
            errors.append(.init(field: "repository", message: "must be an http(s)://, ssh://, git://, user@host:path or file:/// URL of at most 2048 characters, without spaces or a leading \"-\""))
        }
        if s.branches.isEmpty || s.branches.count > maxBranchGlobs || !s.branches.allSatisfy(isBranchGlob) {
            errors.append(.init(field: "branches", message: "1-\(maxBranchGlobs) globs of [A-Za-z0-9._/*?-], not starting with \"-\" or \"/\""))
        }
        script(s.buildScript, "buildScript", required: true, &errors)
        if let p = s.preprocessScript { script(p, "preprocessScript", required: true, &errors) }
        if let d = s.dockerfile { script(d, "dockerfile", required: true, &errors) }
        if !isRelativePath(s.artifactPath) {
            errors.append(.init(field: "artifactPath", message: "must be a path inside the checkout: relative, no \"..\", of [A-Za-z0-9._/-] (got \(ServiceValidation.quoted(s.artifactPath)))"))
        }
        if s.startCommand.isEmpty || s.startCommand.utf8.count > 4096 || s.startCommand.contains(where: { $0.isNewline }) || s.startCommand.utf8.contains(0) {
            errors.append(.init(field: "startCommand", message: "must be 1-4096 bytes on one line"))
        }
        ServiceValidation.check(image: s.baseImage, field: "baseImage", into: &errors)
        if let files = s.dependencyFiles {
            if files.count > maxDependencyFiles || !files.allSatisfy(isRelativePath) {
                errors.append(.init(field: "dependencyFiles", message: "at most \(maxDependencyFiles) paths inside the checkout (relative, no \"..\")"))
            }
            if s.preprocessScript == nil, !files.isEmpty { errors.append(.init(field: "dependencyFiles", message: "are read by preprocessScript, which is not set")) }
        }
        if let t = s.timeoutSeconds, !timeoutRange.contains(t) {
            errors.append(.init(field: "timeoutSeconds", message: "must be between \(timeoutRange.lowerBound) and \(timeoutRange.upperBound)"))
        }
        if let p = s.parallelism, !parallelismRange.contains(p) {
            errors.append(.init(field: "parallelism", message: "must be between \(parallelismRange.lowerBound) and \(parallelismRange.upperBound)"))
        }
    }

    static func script(_ text: String, _ field: String, required: Bool, _ errors: inout [ValidationError]) {
        if (required && text.isEmpty) || text.utf8.count > maxScriptBytes || text.utf8.contains(0) {
            errors.append(.init(field: field, message: "must be 1-\(maxScriptBytes) bytes without NUL"))
        }
    }

    static func buildId(_ id: String, _ errors: inout [ValidationError], field: String = "id") {
        if !isBuildId(id) { errors.append(.init(field: field, message: "must be a build id (1-64 of [0-9a-z])")) }
    }

    static func runner(_ r: String, _ errors: inout [ValidationError]) {
        if !(1...128).contains(r.utf8.count) || !r.utf8.allSatisfy({ isWordByte($0) || $0 == UInt8(ascii: ":") }) {
            errors.append(.init(field: "runner", message: "must be 1-128 of [A-Za-z0-9._:-]"))
        }
    }

    static func isWordByte(_ b: UInt8) -> Bool {
        (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    public static func isBuildId(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { (48...57).contains($0) || (97...122).contains($0) }
    }

    public static func isDelivery(_ d: String) -> Bool { (1...128).contains(d.utf8.count) && d.utf8.allSatisfy(isWordByte) }

    public static func isCommit(_ c: String) -> Bool {
        (c.utf8.count == 40 || c.utf8.count == 64) && c.utf8.allSatisfy(IdentityValidation.isLowerHex)
    }

    public static func isDigest(_ d: String) -> Bool {
        d.hasPrefix("sha256:") && d.utf8.count == 71 && d.utf8.dropFirst(7).allSatisfy(IdentityValidation.isLowerHex)
    }

    /// A git ref as a webhook or a user names it: no spaces, control characters, "..", or leading "-".
    public static func isRef(_ r: String) -> Bool {
        (1...255).contains(r.utf8.count) && !r.hasPrefix("-") && !r.contains("..") && !r.hasSuffix("/") && !r.hasSuffix(".lock")
            && r.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && !"~^:?*[\\".utf8.contains($0) }
    }

    static func isBranchGlob(_ g: String) -> Bool {
        (1...255).contains(g.utf8.count) && !g.hasPrefix("-") && !g.hasPrefix("/")
            && g.utf8.allSatisfy { isWordByte($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }
    }

    public static func isRelativePath(_ p: String) -> Bool {
        guard (1...1024).contains(p.utf8.count), !p.hasPrefix("/"), !p.hasPrefix("-") else { return false }
        let parts = p.split(separator: "/", omittingEmptySubsequences: false)
        return parts.allSatisfy { !$0.isEmpty && $0 != ".." && $0.utf8.allSatisfy(isWordByte) } || p == "."
    }

    public static func isRepository(_ r: String) -> Bool {
        guard (1...2048).contains(r.utf8.count), !r.hasPrefix("-"),
              r.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "'") && $0 != UInt8(ascii: "\"") }) else { return false }
        for scheme in ["https://", "http://", "ssh://", "git://"] where r.hasPrefix(scheme) { return r.count > scheme.count }
        if r.hasPrefix("file:///") { return r.count > 8 && !r.contains("/../") }
        // scp-like: user@host:path
        guard let at = r.firstIndex(of: "@"), let colon = r[at...].firstIndex(of: ":") else { return false }
        return at > r.startIndex && colon > r.index(after: at) && r.index(after: colon) < r.endIndex
    }

    /// Whether a branch matches a glob: `*` within one path segment, `**` across them, `?` one character.
    public static func branch(_ branch: String, matches glob: String) -> Bool {
        func match(_ b: Substring, _ g: Substring) -> Bool {
            guard let first = g.first else { return b.isEmpty }
            if g.hasPrefix("**") {
                let rest = g.dropFirst(2)
                var i = b.startIndex
                while true {
                    if match(b[i...], rest) { return true }
                    if i == b.endIndex { return false }
                    i = b.index(after: i)
                }
            }
            if first == "*" {
                let rest = g.dropFirst()
                var i = b.startIndex
                while true {
                    if match(b[i...], rest) { return true }
                    if i == b.endIndex || b[i] == "/" { return false }
                    i = b.index(after: i)
                }
            }
            guard let c = b.first, first == "?" ? c != "/" : c == first else { return false }
            return match(b.dropFirst(), g.dropFirst())
        }
        return match(Substring(branch), Substring(glob))
    }
}
