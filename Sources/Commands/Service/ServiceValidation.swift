import Events

/// Field rules for Service commands. Pure: the API runs them at the door (so bad input appends nothing)
/// and the decider runs them again for commands that did not come through the API.
public enum ServiceValidation {
    public static let maxReplicas = 1000
    public static let maxEnvEntries = 256
    public static let maxEnvValueBytes = 32 * 1024

    public static func validate(_ command: Command) -> [ValidationError] {
        var errors: [ValidationError] = []
        switch command.payload {
        case let c as CreateService:
            check(dnsLabel: c.name, field: "name", into: &errors)
            check(dnsLabel: c.businessLine, field: "businessLine", into: &errors)
            check(image: c.image, field: "image", into: &errors)
            check(replicas: c.replicas, into: &errors)
            check(env: c.env, into: &errors)
            if let secrets = c.secretEnv { check(secretEnv: secrets, env: c.env, into: &errors) }
            check(ports: c.ports, into: &errors)
            if let h = c.healthCheck { check(healthCheck: h, into: &errors) }
            if let d = c.domain { check(domain: d, into: &errors) }
        case let c as UpdateServiceConfig:
            check(dnsLabel: c.name, field: "name", into: &errors)
            if let env = c.env { check(env: env, into: &errors) }
            if let secrets = c.secretEnv { check(secretEnv: secrets, env: c.env ?? [:], into: &errors) }
            if let removed = c.removeSecretEnv {
                if removed.isEmpty || removed.count > maxEnvEntries {
                    errors.append(.init(field: "removeSecretEnv", message: "name 1 to \(maxEnvEntries) variables"))
                }
                if Set(removed).count != removed.count { errors.append(.init(field: "removeSecretEnv", message: "a variable is named twice")) }
                for name in removed.sorted() where c.secretEnv?[name] != nil {
                    errors.append(.init(field: "removeSecretEnv", message: "\(quoted(name)) cannot be set and removed at once"))
                }
            }
            if let ports = c.ports { check(ports: ports, into: &errors) }
            if let h = c.healthCheck { check(healthCheck: h, into: &errors) }
            if let d = c.domain { check(domain: d, into: &errors) }
            if c.healthCheck != nil && c.clearHealthCheck == true {
                errors.append(.init(field: "clearHealthCheck", message: "cannot set and clear healthCheck at once"))
            }
            if c.domain != nil && c.clearDomain == true {
                errors.append(.init(field: "clearDomain", message: "cannot set and clear domain at once"))
            }
            if c.env == nil, c.ports == nil, c.healthCheck == nil, c.domain == nil, c.clearHealthCheck != true, c.clearDomain != true,
               c.secretEnv == nil, c.removeSecretEnv == nil {
                errors.append(.init(field: "body", message: "give at least one of env, secretEnv, removeSecretEnv, ports, healthCheck, domain, clearHealthCheck, clearDomain"))
            }
        case let c as UpgradeServiceImage:
            check(dnsLabel: c.name, field: "name", into: &errors)
            check(image: c.image, field: "image", into: &errors)
        case let c as ScaleService:
            check(dnsLabel: c.name, field: "name", into: &errors)
            check(replicas: c.replicas, into: &errors)
        case let c as RollbackService:
            check(dnsLabel: c.name, field: "name", into: &errors)
            if c.revision < 1 { errors.append(.init(field: "revision", message: "must be 1 or more")) }
        case let c as DestroyService:
            check(dnsLabel: c.name, field: "name", into: &errors)
        case let c as RevealServiceSecret:
            check(dnsLabel: c.name, field: "name", into: &errors)
            if !isEnvName(c.variable) {
                errors.append(.init(field: "variable", message: "must match [A-Za-z_][A-Za-z0-9_]* (got \(quoted(c.variable)))"))
            }
        case let c as SetServiceAddresses:
            check(dnsLabel: c.name, field: "name", into: &errors)
            if c.addresses.count > maxReplicas { errors.append(.init(field: "addresses", message: "at most \(maxReplicas) addresses")) }
            for (i, address) in c.addresses.enumerated() {
                NginxValidation.check(address: address, field: "addresses[\(i)]", into: &errors)
            }
            if Set(c.addresses).count != c.addresses.count { errors.append(.init(field: "addresses", message: "an address is listed twice")) }
        case let c as SetServicePlacement:
            check(dnsLabel: c.name, field: "name", into: &errors)
            PlacementValidation.check(c.placement, into: &errors)
        case let c as RecordServiceInstances:
            check(dnsLabel: c.name, field: "name", into: &errors)
            check(dnsLabel: c.cluster, field: "cluster", into: &errors)
            if c.instances.count > maxReplicas * 2 { errors.append(.init(field: "instances", message: "at most \(maxReplicas * 2)")) }
            for (n, i) in c.instances.enumerated() {
                if !isDNSSubdomain(i.pod) { errors.append(.init(field: "instances[\(n)].pod", message: "must be a pod name")); break }
                if let ip = i.ip { NginxValidation.check(address: ip.contains(":") ? "[\(ip)]:1" : "\(ip):1", field: "instances[\(n)].ip", into: &errors) }
                if let r = i.reason, r.isEmpty || r.utf8.count > 256 || r.contains(where: \.isNewline) {
                    errors.append(.init(field: "instances[\(n)].reason", message: "must be 1-256 bytes on one line")); break
                }
                if i.restarts < 0 { errors.append(.init(field: "instances[\(n)].restarts", message: "must not be negative")); break }
            }
            if c.instances.map(\.pod) != c.instances.map(\.pod).sorted() || Set(c.instances.map(\.pod)).count != c.instances.count {
                errors.append(.init(field: "instances", message: "must be sorted by pod name, each pod once"))
            }
        case let c as SetInstanceRotation:
            check(dnsLabel: c.name, field: "name", into: &errors)
            check(dnsLabel: c.cluster, field: "cluster", into: &errors)
            if !isDNSSubdomain(c.pod) { errors.append(.init(field: "pod", message: "must be a pod name")) }
        case let c as RecreateInstance:
            check(dnsLabel: c.name, field: "name", into: &errors)
            check(dnsLabel: c.cluster, field: "cluster", into: &errors)
            if !isDNSSubdomain(c.pod) { errors.append(.init(field: "pod", message: "must be a pod name")) }
        case let c as AddDebugContainer:
            check(dnsLabel: c.name, field: "name", into: &errors)
            check(dnsLabel: c.cluster, field: "cluster", into: &errors)
            if !isDNSSubdomain(c.pod) { errors.append(.init(field: "pod", message: "must be a pod name")) }
            check(dnsLabel: c.container, field: "container", into: &errors)
            check(image: c.image, field: "image", into: &errors)
        case let c as ReadInstanceLogs:
            check(dnsLabel: c.name, field: "name", into: &errors)
            check(dnsLabel: c.cluster, field: "cluster", into: &errors)
            if !isDNSSubdomain(c.pod) { errors.append(.init(field: "pod", message: "must be a pod name")) }
            if let container = c.container { check(dnsLabel: container, field: "container", into: &errors) }
            if let n = c.tailLines, !(0...maxLogTailLines).contains(n) { errors.append(.init(field: "tailLines", message: "must be 0-\(maxLogTailLines)")) }
            if let n = c.sinceSeconds, !(1...maxLogSinceSeconds).contains(n) { errors.append(.init(field: "sinceSeconds", message: "must be 1-\(maxLogSinceSeconds)")) }
        case let c as RecordServiceRollout:
            check(dnsLabel: c.name, field: "name", into: &errors)
            check(dnsLabel: c.cluster, field: "cluster", into: &errors)
            if let r = c.rollout {
                if r.revision < 0 { errors.append(.init(field: "rollout.revision", message: "must not be negative")) }
                for (field, n) in [("replicas", r.replicas), ("updated", r.updated), ("ready", r.ready), ("available", r.available)]
                where !(0...10 * maxReplicas).contains(n) {
                    errors.append(.init(field: "rollout.\(field)", message: "must be 0-\(10 * maxReplicas)"))
                }
                if let reason = r.reason, reason.isEmpty || reason.utf8.count > 256 || reason.contains(where: \.isNewline) {
                    errors.append(.init(field: "rollout.reason", message: "must be one line of 1-256 bytes"))
                }
            }
        case let c as RecordInstanceOperation:
            check(dnsLabel: c.name, field: "name", into: &errors)
            if !(1...200).contains(c.operation.utf8.count) { errors.append(.init(field: "operation", message: "must be a command id")) }
            if c.detail.utf8.count > 1000 || c.detail.contains(where: \.isNewline) {
                errors.append(.init(field: "detail", message: "must be one line of at most 1000 bytes"))
            }
        case let c as RecordPlacementDecision:
            check(dnsLabel: c.name, field: "name", into: &errors)
            if c.placementRevision < 1 { errors.append(.init(field: "placementRevision", message: "must be at least 1")) }
            check(replicas: c.replicas, into: &errors)
            if Set(c.inputs.map(\.cluster)).count != c.inputs.count { errors.append(.init(field: "inputs", message: "a cluster is listed twice")) }
            if c.inputs.count > PlacementValidation.maxClusters { errors.append(.init(field: "inputs", message: "at most \(PlacementValidation.maxClusters)")) }
            for i in c.inputs where !isDNSLabel(i.cluster) || !PlacementValidation.inputStates.contains(i.state) || !(0...maxReplicas).contains(i.previous)
                || !(0...PlacementValidation.maxAvailable).contains(i.available ?? 0) || !(1...PlacementValidation.maxWeight).contains(i.weight ?? 1) {
                errors.append(.init(field: "inputs", message: "\(quoted(i.cluster)): a cluster name, a state of \(PlacementValidation.inputStates.sorted()) and previous >= 0"))
                break
            }
            if c.result.values.reduce(0, +) != c.replicas || c.result.values.contains(where: { $0 <= 0 })
                || !Set(c.result.keys).isSubset(of: Set(c.inputs.map(\.cluster))) {
                errors.append(.init(field: "result", message: "must give every replica (\(c.replicas)), each to a cluster of the inputs"))
            }
        default:
            // Other aggregates' commands have their own rules (CommandValidation runs them all).
            break
        }
        return errors
    }

    /// RFC 1123 label, as Kubernetes requires for names: lowercase alphanumerics and '-', 1-63 characters,
    /// starting and ending with an alphanumeric.
    /// A log read's bounds: the last 10,000 lines at most, from at most a week back.
    public static let maxLogTailLines = 10_000
    public static let maxLogSinceSeconds = 7 * 24 * 3600

    public static func isDNSLabel(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) }
        guard alnum(bytes.first!), alnum(bytes.last!) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == 0x2d }
    }

    static func check(dnsLabel value: String, field: String, into errors: inout [ValidationError]) {
        if !isDNSLabel(value) {
            errors.append(.init(field: field, message: "must be a DNS-1123 label: 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit (got \(quoted(value)))"))
        }
    }

    /// Image references: [registry[:port]/]path[:tag][@sha256:digest], per the OCI distribution grammar.
    public static func isImageReference(_ s: String) -> Bool {
        guard (1...255).contains(s.utf8.count) else { return false }
        var rest = Substring(s)
        if let at = rest.firstIndex(of: "@") {
            let digest = rest[rest.index(after: at)...]
            guard digest.hasPrefix("sha256:"), digest.count == 71,
                  digest.dropFirst(7).allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return false }
            rest = rest[..<at]
        }
        // A tag follows the last ':' that comes after the last '/'.
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let tag = rest[rest.index(after: colon)...]
            guard (1...128).contains(tag.count), let first = tag.first, first.isASCII, first.isLetter || first.isNumber || first == "_",
                  tag.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) else { return false }
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard !components.isEmpty else { return false }
        // A first component with '.', ':' or "localhost" names a registry host.
        if components.count > 1, let host = components.first, host.contains(".") || host.contains(":") || host == "localhost" {
            let hostParts = host.split(separator: ":", omittingEmptySubsequences: false)
            guard hostParts.count <= 2, let name = hostParts.first, !name.isEmpty,
                  name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) else { return false }
            if hostParts.count == 2 { guard let port = Int(hostParts[1]), (1...65535).contains(port) else { return false } }
            components.removeFirst()
        }
        return components.allSatisfy(isPathComponent)
    }

    private static func isPathComponent(_ c: Substring) -> Bool {
        // [a-z0-9]+ separated by '.', '_', '__' or one or more '-'
        guard let first = c.first, let last = c.last else { return false }
        func alnum(_ ch: Character) -> Bool { ch.isASCII && (ch.isLowercase || ch.isNumber) }
        guard alnum(first), alnum(last) else { return false }
        var previous: Character = first
        var underscores = 0
        for ch in c.dropFirst() {
            if alnum(ch) { underscores = 0; previous = ch; continue }
            switch ch {
            case ".": if !alnum(previous) { return false }
            case "_": underscores += 1; if underscores > 2 || (previous != "_" && !alnum(previous)) { return false }
            case "-": if previous == "." || previous == "_" { return false }
            default: return false
            }
            previous = ch
        }
        return true
    }

    static func check(image: String, field: String, into errors: inout [ValidationError]) {
        if !isImageReference(image) {
            errors.append(.init(field: field, message: "must be an image reference like registry.example.com/team/app:1.2.3 (got \(quoted(image)))"))
        }
    }

    static func check(replicas: Int, into errors: inout [ValidationError]) {
        if !(0...maxReplicas).contains(replicas) {
            errors.append(.init(field: "replicas", message: "must be between 0 and \(maxReplicas) (got \(replicas))"))
        }
    }

    static func check(env: [String: String], into errors: inout [ValidationError]) {
        if env.count > maxEnvEntries { errors.append(.init(field: "env", message: "at most \(maxEnvEntries) variables")) }
        for (key, value) in env.sorted(by: { $0.key < $1.key }) {
            if !isEnvName(key) {
                errors.append(.init(field: "env", message: "variable names must match [A-Za-z_][A-Za-z0-9_]* (got \(quoted(key)))"))
            }
            if !isEnvValue(value) {
                errors.append(.init(field: "env.\(key)", message: "value must be at most \(maxEnvValueBytes) bytes and contain no NUL"))
            }
        }
    }

    /// An environment variable value (plain, or secret before it is sealed): at most 32 KiB of UTF-8, no NUL.
    public static func isEnvValue(_ value: String) -> Bool {
        value.utf8.count <= maxEnvValueBytes && !value.utf8.contains(0)
    }

    /// An environment variable name as Kubernetes accepts it portably: [A-Za-z_][A-Za-z0-9_]*, 1-253 bytes.
    public static func isEnvName(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        return (1...253).contains(bytes.count)
            && !(bytes[0] >= 0x30 && bytes[0] <= 0x39)
            && bytes.allSatisfy { ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
    }

    /// Secret variables: names as for env, none also in `env`, and every value sealed. A plain value here means
    /// the command did not come through the API (which seals), so it is refused rather than logged in clear.
    static func check(secretEnv: [String: String], env: [String: String], into errors: inout [ValidationError]) {
        if secretEnv.isEmpty { errors.append(.init(field: "secretEnv", message: "give at least one variable, or leave secretEnv out")) }
        if env.count + secretEnv.count > maxEnvEntries {
            errors.append(.init(field: "secretEnv", message: "at most \(maxEnvEntries) variables in env and secretEnv together"))
        }
        for (key, value) in secretEnv.sorted(by: { $0.key < $1.key }) {
            if !isEnvName(key) {
                errors.append(.init(field: "secretEnv", message: "variable names must match [A-Za-z_][A-Za-z0-9_]* (got \(quoted(key)))"))
            }
            if env[key] != nil {
                errors.append(.init(field: "secretEnv.\(key)", message: "is also in env; a variable is either plain or secret"))
            }
            guard let sealed = SealedSecret(value) else {
                errors.append(.init(field: "secretEnv.\(key)", message: "is not a sealed value; send secret values to the API, which seals them"))
                continue
            }
            if sealed.combined.count > maxEnvValueBytes + 64 {
                errors.append(.init(field: "secretEnv.\(key)", message: "value must be at most \(maxEnvValueBytes) bytes"))
            }
        }
    }

    static func check(ports: [ServicePort], into errors: inout [ValidationError]) {
        if ports.count > 64 { errors.append(.init(field: "ports", message: "at most 64 ports")) }
        var seen = Set<String>()
        for (i, port) in ports.enumerated() {
            if !(1...65535).contains(port.containerPort) {
                errors.append(.init(field: "ports[\(i)].containerPort", message: "must be between 1 and 65535 (got \(port.containerPort))"))
            }
            if !["TCP", "UDP"].contains(port.protocol) {
                errors.append(.init(field: "ports[\(i)].protocol", message: "must be TCP or UDP (got \(quoted(port.protocol)))"))
            }
            if let name = port.name, !isDNSLabel(name) || name.count > 15 {
                errors.append(.init(field: "ports[\(i)].name", message: "must be a DNS-1123 label of at most 15 characters (got \(quoted(name)))"))
            }
            if !seen.insert("\(port.containerPort)/\(port.protocol)").inserted {
                errors.append(.init(field: "ports[\(i)]", message: "port \(port.containerPort)/\(port.protocol) is listed twice"))
            }
        }
    }

    static func check(healthCheck h: HealthCheck, into errors: inout [ValidationError]) {
        let pathOK = h.path.hasPrefix("/") && h.path.utf8.count <= 1024
            && h.path.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f }
        if !pathOK {
            errors.append(.init(field: "healthCheck.path", message: "must start with '/' and contain only visible ASCII, at most 1024 bytes (got \(quoted(h.path)))"))
        }
        if !(1...65535).contains(h.port) { errors.append(.init(field: "healthCheck.port", message: "must be between 1 and 65535")) }
        if !(0...3600).contains(h.initialDelaySeconds) {
            errors.append(.init(field: "healthCheck.initialDelaySeconds", message: "must be between 0 and 3600"))
        }
        if !(1...3600).contains(h.periodSeconds) { errors.append(.init(field: "healthCheck.periodSeconds", message: "must be between 1 and 3600")) }
    }

    /// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
    public static func isDNSSubdomain(_ s: String) -> Bool {
        guard (1...253).contains(s.utf8.count) else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
    }

    static func check(domain: String, into errors: inout [ValidationError]) {
        if !isDNSSubdomain(domain) {
            errors.append(.init(field: "domain", message: "must be a DNS name like payments.example.com: lowercase labels separated by dots (got \(quoted(domain)))"))
        }
    }

    static func quoted(_ s: String) -> String {
        let shown = s.count > 80 ? String(s.prefix(80)) + "…" : s
        return "\"" + shown.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value != 0x22 && $0.value != 0x5c ? String($0) : $0.escaped(asASCII: true) }.joined() + "\""
    }
}
