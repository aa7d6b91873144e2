import Events

/// A Service as the decider sees it: folded from its events, nothing else.
public struct ServiceState: Hashable, Sendable, Codable {
    public enum Status: String, Hashable, Sendable, Codable { case active, destroyed }

    public var name: String
    public var businessLine: String
    public var replicas: Int
    public var domain: String?
    public var status: Status
    public var revision: Int
    public var template: PodTemplate
    /// Every revision's template, so a rollback can restore any of them.
    public var revisions: [Int: PodTemplate]
    /// Container addresses ("host:port") until the Kubernetes worker reports pods; the first `replicas` are live.
    public var addresses: [String] = []
    /// Where the replicas run and how they are divided (absent: no placement yet).
    public var placement: ServicePlacement?
    public var placementRevision: Int?
    /// The last accepted division: replicas per cluster, and the placement revision and replicas it divided.
    public var placementResult: [String: Int]?
    public var placementDecidedRevision: Int?
    public var placementDecidedReplicas: Int?
    /// The last division whose every share was ready (`ServicePlacementSettled`); while it differs from
    /// `placementResult`, each cluster keeps the larger of the two shares.
    public var placementSettled: [String: Int]?
    /// Pods taken out of the load balancer, per cluster (sorted); a pod that is gone drops out of it.
    public var outOfRotation: [String: [String]]?
    /// Pods per cluster, as the cluster workers last saw them.
    public var instances: [String: [ServiceInstance]]?
    /// The rollout per cluster, as the cluster workers last saw it.
    public var rollouts: [String: ServiceRollout]?
    /// Recreates and debug containers the cluster workers have not recorded an outcome for, by request command id.
    public var operations: [String: PendingInstanceOperation]?
    /// Time and actor of the last accepted change.
    public var updatedAt: String
    public var updatedBy: String

    /// Folds one event into the state. Pure; unknown or irrelevant events leave the state as it is.
    /// What nginx routes to: the first `replicas` addresses while the service is active.
    public var liveAddresses: [String] { status == .active ? Array(addresses.prefix(replicas)) : [] }

    public static func evolve(_ state: ServiceState?, _ envelope: EventEnvelope) -> ServiceState? {
        var s = state
        switch envelope.event.payload {
        case let e as ServiceCreated:
            s = ServiceState(name: e.name, businessLine: e.businessLine, replicas: e.replicas, domain: e.domain, status: .active,
                             revision: e.revision, template: e.template, revisions: [e.revision: e.template],
                             updatedAt: envelope.time, updatedBy: envelope.actor)
            return s
        case let e as ServiceConfigUpdated:
            s?.template = e.template
            s?.domain = e.domain
            s?.revision = e.revision
            s?.revisions[e.revision] = e.template
        case let e as ServiceImageUpgraded:
            s?.template = e.template
            s?.revision = e.revision
            s?.revisions[e.revision] = e.template
        case let e as ServiceScaled:
            s?.replicas = e.replicas
        case let e as ServiceRolledBack:
            s?.template = e.template
            s?.revision = e.revision
            s?.revisions[e.revision] = e.template
        case is ServiceDestroyed:
            s?.status = .destroyed
            s?.operations = nil  // its objects are pruned: nothing is left to act on
        case let e as ServiceAddressesSet:
            s?.addresses = e.addresses
        case let e as ServicePlacementSet:
            s?.placement = e.placement
            s?.placementRevision = e.placementRevision
        case let e as ServicePlacementDecided:
            s?.placementResult = e.result
            s?.placementDecidedRevision = e.placementRevision
            s?.placementDecidedReplicas = e.replicas
        case let e as ServicePlacementSettled:
            s?.placementSettled = e.result
            // Pods of clusters the move left are no longer followed: a cluster that returns is seen afresh before its
            // pods count again (what it ran before it failed says nothing about now).
            let kept = s?.instances?.filter { (e.result[$0.key] ?? 0) > 0 }
            s?.instances = kept
        case let e as ServiceInstancesObserved:
            var instances = s?.instances ?? [:]
            instances[e.cluster] = e.instances.isEmpty ? nil : e.instances
            s?.instances = instances
            if let out = s?.outOfRotation?[e.cluster] {
                let present = Set(e.instances.map(\.pod))
                let kept = out.filter(present.contains)
                s?.outOfRotation?[e.cluster] = kept.isEmpty ? nil : kept
            }
        case let e as ServiceInstanceRotationSet:
            var out = s?.outOfRotation ?? [:]
            var pods = Set(out[e.cluster] ?? [])
            if e.inRotation { pods.remove(e.pod) } else { pods.insert(e.pod) }
            out[e.cluster] = pods.isEmpty ? nil : pods.sorted()
            s?.outOfRotation = out
        case let e as ServiceInstanceRecreateRequested:
            var operations = s?.operations ?? [:]
            operations[envelope.commandId] = PendingInstanceOperation(kind: .recreate, cluster: e.cluster, pod: e.pod)
            s?.operations = operations
        case let e as ServiceDebugContainerRequested:
            var operations = s?.operations ?? [:]
            operations[envelope.commandId] = PendingInstanceOperation(kind: .debug, cluster: e.cluster, pod: e.pod, container: e.container)
            s?.operations = operations
        case let e as ServiceRolloutObserved:
            var rollouts = s?.rollouts ?? [:]
            rollouts[e.cluster] = e.rollout
            s?.rollouts = rollouts.isEmpty ? nil : rollouts
            return s  // what the cluster reports is not a change of the service (updatedAt stays)
        case let e as ServiceInstanceOperationFinished:
            s?.operations?[e.operation] = nil
            if s?.operations?.isEmpty == true { s?.operations = nil }
        default:
            return s
        }
        s?.updatedAt = envelope.time
        s?.updatedBy = envelope.actor
        return s
    }
}
