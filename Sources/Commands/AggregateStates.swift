import Events

/// The state of every aggregate a command partition holds, and the decider for each kind of aggregate key.
public struct AggregateStates: Sendable {
    public var services: [String: ServiceState] = [:]
    public var nginxClusters: [String: NginxClusterState] = [:]

    public init() {}

    public var count: Int { services.count + nginxClusters.count }

    public mutating func evolve(_ envelope: EventEnvelope) {
        let key = envelope.aggregate
        if Self.isNginxCluster(key) {
            nginxClusters[key] = NginxClusterState.evolve(nginxClusters[key], envelope)
        } else {
            services[key] = ServiceState.evolve(services[key], envelope)
        }
    }

    /// The command's aggregate key decides which decider sees it (the processor checked that they agree).
    public func decide(_ command: Command) -> Result<[Event], Rejection> {
        let key = command.aggregate
        if Self.isNginxCluster(key) { return NginxDecider.decide(command, state: nginxClusters[key]) }
        return ServiceDecider.decide(command, state: services[key])
    }

    static func isNginxCluster(_ key: String) -> Bool { key.hasPrefix("nginx-cluster/") }
}
