/// A Kubernetes cluster Wharf runs services on, as registered. The bearer token is not part of it: commands and
/// events carry it sealed beside the spec (`SealedSecret`, scope "cluster:<name>"), and no answer shows it (the
/// clusters read model keeps the sealed form for the cluster worker in a column no answer selects).
public struct ClusterSpec: Codable, Hashable, Sendable {
    /// "https://host[:port][/path]" of the API server.
    public var apiServer: String
    /// PEM certificates that sign the API server's certificate; absent: the system's trust store.
    public var caBundle: String?
    public var environment: ClusterEnvironment
    public var region: String?
    /// Placement selects clusters by these (`selector: {label: value}`).
    public var labels: [String: String]

    public init(apiServer: String, caBundle: String? = nil, environment: ClusterEnvironment, region: String? = nil, labels: [String: String] = [:]) {
        self.apiServer = apiServer; self.caBundle = caBundle; self.environment = environment; self.region = region; self.labels = labels
    }
}

public enum ClusterEnvironment: String, Codable, Hashable, Sendable, CaseIterable { case test, prod }

/// Whether new replicas may go to a cluster: `active`; `cordoned` (nothing new goes there, what runs stays);
/// `draining` (cordoned, and its share moves to the other clusters of each placement).
public enum ClusterScheduling: String, Codable, Hashable, Sendable { case active, cordoned, draining }

/// What the cluster worker last saw of a cluster. Appended only when it changes, so capacity is rounded (CPU to
/// 100 millicores, memory to 64 MiB) and a steady cluster writes nothing.
public struct ClusterHealth: Codable, Hashable, Sendable {
    /// The API answered with the registered credentials.
    public var reachable: Bool
    public var nodesReady: Int
    public var nodesTotal: Int
    /// Sums over ready, schedulable nodes: allocatable, and what the pods there request.
    public var allocatableCPUMillis: Int64
    public var allocatableMemoryBytes: Int64
    public var requestedCPUMillis: Int64
    public var requestedMemoryBytes: Int64
    /// Why the cluster is not healthy ("connection refused", "2 of 3 nodes not ready"); absent when healthy.
    public var reason: String?

    public init(reachable: Bool, nodesReady: Int, nodesTotal: Int, allocatableCPUMillis: Int64, allocatableMemoryBytes: Int64,
                requestedCPUMillis: Int64, requestedMemoryBytes: Int64, reason: String? = nil) {
        self.reachable = reachable; self.nodesReady = nodesReady; self.nodesTotal = nodesTotal
        self.allocatableCPUMillis = allocatableCPUMillis; self.allocatableMemoryBytes = allocatableMemoryBytes
        self.requestedCPUMillis = requestedCPUMillis; self.requestedMemoryBytes = requestedMemoryBytes; self.reason = reason
    }

    /// Reachable with every node ready (and at least one).
    public var healthy: Bool { reachable && nodesTotal > 0 && nodesReady == nodesTotal }
}

/// Where a cluster's token is sealed (the scope and variable of `SealedSecret`): bound to the cluster's name, so it
/// opens for no other. The API seals, the cluster worker opens.
public enum ClusterSecrets {
    public static func scope(cluster: String) -> String { "cluster:\(cluster)" }
    public static let variable = "token"
}
