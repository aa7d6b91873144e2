import Events

/// The state of every aggregate a command partition holds, by aggregate key, each decided by its own kind's
/// decider. A key of a kind that is not registered is refused, never handed to another kind's decider.
public struct AggregateStates: Sendable {
    private var states: [String: any Sendable] = [:]

    public init() {}

    public var count: Int { states.count }

    public mutating func evolve(_ envelope: EventEnvelope) {
        let key = envelope.aggregate
        guard let decider = Deciders.forKey(key) else { return }
        states[key] = decider.evolve(erased: states[key], envelope)
    }

    /// The command's aggregate key decides which decider sees it (the processor checked that they agree).
    public func decide(_ command: Command) -> Result<[Event], Rejection> {
        let key = command.aggregate
        guard let decider = Deciders.forKey(key) else {
            return .failure(Rejection(.invalid, "no aggregate kind is registered for \"\(key)\""))
        }
        return decider.decide(command, erased: states[key])
    }

    var keys: Dictionary<String, any Sendable>.Keys { states.keys }
    func anyState(_ key: String) -> (any Sendable)? { states[key] }
    mutating func set(_ key: String, _ state: any Sendable) { states[key] = state }

    /// The state of one aggregate, as its kind's decider keeps it.
    public func state<D: AggregateDecider>(of key: String, as decider: D.Type) -> D.State? {
        states[key] as? D.State
    }
}
