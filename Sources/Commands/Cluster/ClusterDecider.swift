import Events

/// A cluster as its decider sees it.
public struct ClusterState: Hashable, Sendable, Codable {
    public var name: String
    public var spec: ClusterSpec
    public var scheduling: ClusterScheduling
    public var health: ClusterHealth?
    public var removed: Bool

    public static func evolve(_ state: ClusterState?, _ envelope: EventEnvelope) -> ClusterState? {
        switch envelope.event.payload {
        case let e as ClusterRegistered:
            return ClusterState(name: e.name, spec: e.spec, scheduling: .active, health: nil, removed: false)
        case let e as ClusterSchedulingChanged:
            var s = state
            s?.scheduling = e.scheduling
            return s
        case let e as ClusterHealthChanged:
            var s = state
            s?.health = e.health
            return s
        case is ClusterRemoved:
            var s = state
            s?.removed = true
            return s
        default:
            return state
        }
    }
}

extension ClusterAggregate: AggregateDecider {
    public typealias State = ClusterState
    public static func validate(_ command: Command) -> [ValidationError] { ClusterValidation.validate(command) }
    public static func evolve(_ state: ClusterState?, _ envelope: EventEnvelope) -> ClusterState? { ClusterState.evolve(state, envelope) }

    public static func decide(_ command: Command, state: ClusterState?) -> Result<[Event], Rejection> {
        let errors = validate(command)
        if !errors.isEmpty { return .failure(Rejection(.invalid, errors.map(\.description).joined(separator: "; "))) }
        if let c = command.as(RegisterCluster.self) {
            if let s = state, !s.removed { return .failure(Rejection(.conflict, "cluster \"\(c.name)\" is registered already")) }
            return .success([Event(ClusterRegistered(name: c.name, spec: c.spec, token: c.token))])
        }
        let name = (command.payload as? any ClusterNamed)?.clusterName ?? ""
        guard let s = state, !s.removed else { return .failure(Rejection(.notFound, "cluster \"\(name)\" is not registered")) }
        switch command.payload {
        case is CordonCluster:
            return change(command, s, to: .cordoned)
        case is UncordonCluster:
            return change(command, s, to: .active)
        case is DrainCluster:
            return change(command, s, to: .draining)
        case is RemoveCluster:
            return .success([Event(ClusterRemoved(name: s.name))])
        case let c as RecordClusterHealth:
            if s.health == c.health { return .success([.unchanged(command, "cluster \"\(s.name)\" health is unchanged")]) }
            return .success([Event(ClusterHealthChanged(name: s.name, health: c.health, wasHealthy: s.health?.healthy ?? false))])
        default:
            return .failure(Rejection(.invalid, "not a cluster command: \(command.type)"))
        }
    }

    static func change(_ command: Command, _ s: ClusterState, to scheduling: ClusterScheduling) -> Result<[Event], Rejection> {
        if s.scheduling == scheduling { return .success([.unchanged(command, "cluster \"\(s.name)\" is \(scheduling.rawValue) already")]) }
        return .success([Event(ClusterSchedulingChanged(name: s.name, scheduling: scheduling))])
    }
}

/// Cluster commands name their cluster; used for the reason of a command to an unknown one.
protocol ClusterNamed { var clusterName: String { get } }
extension CordonCluster: ClusterNamed { var clusterName: String { name } }
extension UncordonCluster: ClusterNamed { var clusterName: String { name } }
extension DrainCluster: ClusterNamed { var clusterName: String { name } }
extension RemoveCluster: ClusterNamed { var clusterName: String { name } }
extension RecordClusterHealth: ClusterNamed { var clusterName: String { name } }
