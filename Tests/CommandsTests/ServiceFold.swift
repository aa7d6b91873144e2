import Commands
import Events

/// A service decided command by command, as the processor does: each accepted command's events folded into the
/// state, under a command id of its own (`cmd-1`, `cmd-2`, ...), which the events carry as their causation id.
struct ServiceFold {
    var state: ServiceState?
    var actor = "user:dev"
    private(set) var commands = 0

    /// The last accepted command's id.
    var lastCommandId: String { "cmd-\(commands)" }

    mutating func decide(_ command: Command) -> Result<[Event], Rejection> {
        let result = ServiceDecider.decide(command, state: state)
        if case .success(let events) = result {
            commands += 1
            for e in events {
                state = ServiceState.evolve(state, EventEnvelope(id: "e", aggregate: command.aggregate, actor: actor, time: "2026-12-07T00:00:00.000Z",
                                                                 correlationId: "c", causationId: lastCommandId, commandType: command.type,
                                                                 commandPosition: LogPosition(partition: 0, offset: 0), event: e))
            }
        }
        return result
    }

    /// The rejection's code, or nil when the command was accepted or changed nothing (`outcome` tells which).
    mutating func refusal(_ command: Command) -> RejectionCode? {
        if case .failure(let f) = decide(command) { return f.code }
        return nil
    }
}
