import Events

extension ServiceAggregate: AggregateDecider {
    public typealias State = ServiceState
    public static func validate(_ command: Command) -> [ValidationError] { ServiceValidation.validate(command) }
    public static func decide(_ command: Command, state: ServiceState?) -> Result<[Event], Rejection> {
        ServiceDecider.decide(command, state: state)
    }
    public static func evolve(_ state: ServiceState?, _ envelope: EventEnvelope) -> ServiceState? {
        ServiceState.evolve(state, envelope)
    }
}
