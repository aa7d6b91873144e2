import Events

extension NginxClusterAggregate: AggregateDecider {
    public typealias State = NginxClusterState
    public static func validate(_ command: Command) -> [ValidationError] { NginxValidation.validate(command) }
    public static func decide(_ command: Command, state: NginxClusterState?) -> Result<[Event], Rejection> {
        NginxDecider.decide(command, state: state)
    }
    public static func evolve(_ state: NginxClusterState?, _ envelope: EventEnvelope) -> NginxClusterState? {
        NginxClusterState.evolve(state, envelope)
    }
}
