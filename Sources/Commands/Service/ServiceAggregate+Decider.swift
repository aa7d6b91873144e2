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
    /// A create names its line; every other command acts in the line the service was created in.
    public static func businessLine(of command: Command, state: ServiceState?) -> String? {
        (command.payload as? CreateService)?.businessLine ?? state?.businessLine
    }
}
