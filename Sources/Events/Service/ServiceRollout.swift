/// A service's Deployment in one cluster as the Deployment controller reports it: how far the rollout of a revision
/// has come. The cluster worker records it when it changes (`RecordServiceRollout`), so the log holds every step.
public struct ServiceRollout: Codable, Hashable, Sendable {
    /// The revision the Deployment was applied for (its `wharf.dev/revision` annotation).
    public var revision: Int
    /// Desired replicas (`spec.replicas`).
    public var replicas: Int
    /// Pods of the current template (`status.updatedReplicas`), ready and available ones.
    public var updated: Int
    public var ready: Int
    public var available: Int
    /// The controller has seen the current spec and every replica runs it and is available, with no old pod left.
    public var complete: Bool
    /// Why it does not progress, when the API says so (a `Progressing` condition that is False, such as
    /// ProgressDeadlineExceeded, or a `ReplicaFailure`).
    public var reason: String?
    public init(revision: Int, replicas: Int, updated: Int, ready: Int, available: Int, complete: Bool, reason: String? = nil) {
        self.revision = revision; self.replicas = replicas; self.updated = updated; self.ready = ready; self.available = available
        self.complete = complete; self.reason = reason
    }
}

/// The cluster worker's view of a service's rollout in one cluster, appended when it changed; `rollout` nil: the
/// cluster has no Deployment of the service any more.
public struct RecordServiceRollout: CommandPayload {
    public static let type = "RecordServiceRollout"
    public var name: String
    public var cluster: String
    public var rollout: ServiceRollout?
    public var aggregate: String { AggregateKey.service(name) }
    public init(name: String, cluster: String, rollout: ServiceRollout?) { self.name = name; self.cluster = cluster; self.rollout = rollout }
}

public struct ServiceRolloutObserved: EventPayload {
    public static let type = "ServiceRolloutObserved"
    public var name: String
    public var cluster: String
    public var rollout: ServiceRollout?
    public init(name: String, cluster: String, rollout: ServiceRollout?) { self.name = name; self.cluster = cluster; self.rollout = rollout }
}
