import Events

/// The state of every aggregate a command partition holds, by aggregate key, each decided by its own kind's
/// decider. A key of a kind that is not registered is refused, never handed to another kind's decider.
public struct AggregateStates: Sendable {
    /// Each state with its kind's decider, found once per key rather than on every event.
    struct Entry: Sendable {
        let decider: any AggregateDecider.Type
        var state: any Sendable
    }

    private var states: [String: Entry] = [:]

    public init() {}

    public var count: Int { states.count }

    public mutating func evolve(_ envelope: EventEnvelope) {
        let key = envelope.aggregate
        if let entry = states[key] {
            if let next = entry.decider.evolve(erased: entry.state, envelope) { states[key]!.state = next } else { states[key] = nil }
            return
        }
        guard let decider = Deciders.forKey(key), let first = decider.evolve(erased: nil, envelope) else { return }
        states[key] = Entry(decider: decider, state: first)
    }

    /// The command's aggregate key decides which decider sees it (the processor checked that they agree).
    /// `authorizedLine`: the line the API authorized the actor in; refused when the log puts the aggregate elsewhere.
    public func decide(_ command: Command, authorizedLine: String? = nil) -> Result<[Event], Rejection> {
        let key = command.aggregate
        guard let decider = states[key]?.decider ?? Deciders.forKey(key) else {
            return .failure(Rejection(.invalid, "no aggregate kind is registered for \"\(key)\""))
        }
        let state = states[key]?.state
        if let authorized = authorizedLine, let line = decider.businessLine(of: command, erased: state), line != authorized {
            return .failure(Rejection(.conflict, "\(key) belongs to business line \"\(line)\" in the log, but the request was authorized "
                + "for \"\(authorized)\" (a read model disagrees with the log); nothing was changed"))
        }
        return decider.decide(command, erased: state)
    }

    var keys: Dictionary<String, Entry>.Keys { states.keys }
    func entry(_ key: String) -> Entry? { states[key] }
    mutating func set(_ key: String, _ entry: Entry) { states[key] = entry }

    /// The state of one aggregate, as its kind's decider keeps it.
    public func state<D: AggregateDecider>(of key: String, as decider: D.Type) -> D.State? {
        states[key]?.state as? D.State
    }
}
