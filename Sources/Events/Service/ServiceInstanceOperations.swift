/// Operations on one running instance (pod) of a service, each an audited intent in the log.
///
/// `recreate` and `debug` are carried out by the cluster worker that holds the pod's cluster: it reads the pending
/// operations from the read models, acts on the Kubernetes API, and records the outcome (`RecordInstanceOperation`,
/// keyed by the request's command id, so a redo after a crash is answered from history). A log read is served by the
/// API process itself, once the read is in the log.

/// Deletes one pod; its Deployment makes a replacement (with another name and IP).
public struct RecreateInstance: CommandPayload {
    public static let type = "RecreateInstance"
    public var name: String
    public var cluster: String
    public var pod: String
    public var aggregate: String { AggregateKey.service(name) }
    public init(name: String, cluster: String, pod: String) { self.name = name; self.cluster = cluster; self.pod = pod }
}

public struct ServiceInstanceRecreateRequested: EventPayload {
    public static let type = "ServiceInstanceRecreateRequested"
    public var name: String
    public var cluster: String
    public var pod: String
    public init(name: String, cluster: String, pod: String) { self.name = name; self.cluster = cluster; self.pod = pod }
}

/// Adds an ephemeral debug container to one pod: `image` chosen by the caller, sharing the process namespace of the
/// service's container, with stdin and a TTY so it can be attached to. Ephemeral containers cannot be removed; they
/// go with the pod.
public struct AddDebugContainer: CommandPayload {
    public static let type = "AddDebugContainer"
    public var name: String
    public var cluster: String
    public var pod: String
    /// The ephemeral container's name (a DNS label, unique in the pod).
    public var container: String
    public var image: String
    public var aggregate: String { AggregateKey.service(name) }
    public init(name: String, cluster: String, pod: String, container: String, image: String) {
        self.name = name; self.cluster = cluster; self.pod = pod; self.container = container; self.image = image
    }
}

public struct ServiceDebugContainerRequested: EventPayload {
    public static let type = "ServiceDebugContainerRequested"
    public var name: String
    public var cluster: String
    public var pod: String
    public var container: String
    public var image: String
    public init(name: String, cluster: String, pod: String, container: String, image: String) {
        self.name = name; self.cluster = cluster; self.pod = pod; self.container = container; self.image = image
    }
}

/// Reading a pod's recent log: recorded (who read which pod's log, how much) before the API streams it.
public struct ReadInstanceLogs: CommandPayload {
    public static let type = "ReadInstanceLogs"
    public var name: String
    public var cluster: String
    public var pod: String
    /// Absent: the service's container.
    public var container: String?
    public var tailLines: Int?
    public var sinceSeconds: Int?
    public var follow: Bool
    public var aggregate: String { AggregateKey.service(name) }
    public init(name: String, cluster: String, pod: String, container: String? = nil, tailLines: Int? = nil, sinceSeconds: Int? = nil,
                follow: Bool = false) {
        self.name = name; self.cluster = cluster; self.pod = pod; self.container = container; self.tailLines = tailLines
        self.sinceSeconds = sinceSeconds; self.follow = follow
    }
}

public struct ServiceInstanceLogsRead: EventPayload {
    public static let type = "ServiceInstanceLogsRead"
    public var name: String
    public var cluster: String
    public var pod: String
    public var container: String?
    public var tailLines: Int?
    public var sinceSeconds: Int?
    public var follow: Bool
    public init(name: String, cluster: String, pod: String, container: String?, tailLines: Int?, sinceSeconds: Int?, follow: Bool) {
        self.name = name; self.cluster = cluster; self.pod = pod; self.container = container; self.tailLines = tailLines
        self.sinceSeconds = sinceSeconds; self.follow = follow
    }
}

/// What the cluster worker did with a pending operation: `operation` is the request's command id.
public struct RecordInstanceOperation: CommandPayload {
    public static let type = "RecordInstanceOperation"
    public enum Outcome: String, Codable, Hashable, Sendable { case done, failed }
    public var name: String
    public var operation: String
    public var outcome: Outcome
    /// One line: what was done, or why it failed (the API's own message).
    public var detail: String
    public var aggregate: String { AggregateKey.service(name) }
    public init(name: String, operation: String, outcome: Outcome, detail: String) {
        self.name = name; self.operation = operation; self.outcome = outcome; self.detail = detail
    }
}

public struct ServiceInstanceOperationFinished: EventPayload {
    public static let type = "ServiceInstanceOperationFinished"
    public var name: String
    public var operation: String
    public var cluster: String
    public var pod: String
    public var outcome: RecordInstanceOperation.Outcome
    public var detail: String
    public init(name: String, operation: String, cluster: String, pod: String, outcome: RecordInstanceOperation.Outcome, detail: String) {
        self.name = name; self.operation = operation; self.cluster = cluster; self.pod = pod; self.outcome = outcome; self.detail = detail
    }
}

/// An operation the decider knows is under way (in `ServiceState`, keyed by the request's command id).
public struct PendingInstanceOperation: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Hashable, Sendable { case recreate, debug }
    public var kind: Kind
    public var cluster: String
    public var pod: String
    /// The debug container's name.
    public var container: String?
    public init(kind: Kind, cluster: String, pod: String, container: String? = nil) {
        self.kind = kind; self.cluster = cluster; self.pod = pod; self.container = container
    }
}
