import Events
import Foundation

/// Field rules of cluster commands. The API server URL and CA bundle reach the cluster worker's HTTP client, labels
/// reach Kubernetes selectors and placement: each is held to the form those expect.
public enum ClusterValidation {
    public static let maxCABundleBytes = 64 * 1024
    public static let maxTokenBytes = 8 * 1024
    public static let maxLabels = 64

    public static func validate(_ command: Command) -> [ValidationError] {
        var errors: [ValidationError] = []
        switch command.payload {
        case let c as RegisterCluster:
            ServiceValidation.check(dnsLabel: c.name, field: "name", into: &errors)
            spec(c.spec, &errors)
            if SealedSecret(c.token) == nil { errors.append(.init(field: "token", message: "must be sealed by the API (\(SealedSecret.prefix)...)")) }
        case let c as CordonCluster: ServiceValidation.check(dnsLabel: c.name, field: "name", into: &errors)
        case let c as UncordonCluster: ServiceValidation.check(dnsLabel: c.name, field: "name", into: &errors)
        case let c as DrainCluster: ServiceValidation.check(dnsLabel: c.name, field: "name", into: &errors)
        case let c as RemoveCluster: ServiceValidation.check(dnsLabel: c.name, field: "name", into: &errors)
        case let c as RecordClusterHealth:
            ServiceValidation.check(dnsLabel: c.name, field: "name", into: &errors)
            let h = c.health
            if h.nodesReady < 0 || h.nodesTotal < 0 || h.nodesReady > h.nodesTotal {
                errors.append(.init(field: "health.nodesReady", message: "must be between 0 and nodesTotal"))
            }
            if [h.allocatableCPUMillis, h.allocatableMemoryBytes, h.requestedCPUMillis, h.requestedMemoryBytes].contains(where: { $0 < 0 }) {
                errors.append(.init(field: "health", message: "capacities must not be negative"))
            }
            if let r = h.reason, r.isEmpty || r.utf8.count > 1024 || r.contains(where: \.isNewline) {
                errors.append(.init(field: "health.reason", message: "must be 1-1024 bytes on one line"))
            }
        default:
            errors.append(.init(field: "type", message: "not a cluster command: \(command.type)"))
        }
        return errors
    }

    static func spec(_ s: ClusterSpec, _ errors: inout [ValidationError]) {
        if !isAPIServer(s.apiServer) {
            errors.append(.init(field: "apiServer", message: "must be an https:// URL of the API server (host, optional port and path; no credentials, query or fragment)"))
        }
        if let ca = s.caBundle, !isPEMBundle(ca) {
            errors.append(.init(field: "caBundle", message: "must be PEM certificates (-----BEGIN CERTIFICATE-----), at most \(maxCABundleBytes) bytes"))
        }
        if let region = s.region, !ServiceValidation.isDNSLabel(region) {
            errors.append(.init(field: "region", message: "must be a DNS label (lowercase letters, digits and '-', 1-63)"))
        }
        if s.labels.count > maxLabels { errors.append(.init(field: "labels", message: "at most \(maxLabels)")) }
        for (key, value) in s.labels.sorted(by: { $0.key < $1.key }) {
            if !isLabelKey(key) { errors.append(.init(field: "labels", message: "\(ServiceValidation.quoted(key)) is not a Kubernetes label key")); break }
            if !isLabelValue(value) {
                errors.append(.init(field: "labels.\(key)", message: "must be a Kubernetes label value (up to 63 of [A-Za-z0-9._-], starting and ending alphanumeric)"))
                break
            }
        }
    }

    /// The bearer token as it arrives at the API, before sealing: what an HTTP header may carry.
    public static func isToken(_ t: String) -> Bool {
        (1...maxTokenBytes).contains(t.utf8.count) && t.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }

    public static func isAPIServer(_ text: String) -> Bool {
        guard text.utf8.count <= 512, text.hasPrefix("https://"), !text.contains(where: { $0.isWhitespace || $0 == "\\" }),
              let url = URLComponents(string: text), url.scheme == "https", let host = url.host, !host.isEmpty,
              url.user == nil, url.password == nil, url.query == nil, url.fragment == nil else { return false }
        if let port = url.port, !(1...65535).contains(port) { return false }
        return url.path.isEmpty || url.path.hasPrefix("/")
    }

    static func isPEMBundle(_ text: String) -> Bool {
        text.utf8.count <= maxCABundleBytes && text.contains("-----BEGIN CERTIFICATE-----") && text.contains("-----END CERTIFICATE-----")
            && !text.utf8.contains(0)
    }

    /// `[prefix/]name`: name up to 63 of [A-Za-z0-9._-] starting and ending alphanumeric; prefix a DNS subdomain.
    public static func isLabelKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let name = parts.last, !name.isEmpty else { return false }
        if parts.count == 2, !ServiceValidation.isDNSSubdomain(String(parts[0])) { return false }
        return isLabelValue(String(name))
    }

    public static func isLabelValue(_ value: String) -> Bool {
        if value.isEmpty { return true }
        guard value.utf8.count <= 63, let first = value.unicodeScalars.first, let last = value.unicodeScalars.last else { return false }
        let alnum: (Unicode.Scalar) -> Bool = { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) }
        return alnum(first) && alnum(last) && value.unicodeScalars.allSatisfy { alnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }
}
