/// Recorded for an intent whose desired state holds already: scaling a service to the replicas it has, upgrading it
/// to the image it runs, cordoning a cordoned cluster. The intent succeeds and changes nothing, as `kubectl scale` or
/// `kubectl apply` of what is there does; an autoscaler or a reconciler that sends the state it wants every tick is
/// answered 200, not 409. A command that creates, starts an action or is past its lifecycle is still a conflict.
public struct CommandUnchanged: EventPayload {
    public static let type = "CommandUnchanged"
    public var commandType: String
    /// What already holds, e.g. `service "pay-api" already has 3 replicas`.
    public var reason: String
    public init(commandType: String, reason: String) {
        self.commandType = commandType; self.reason = reason
    }
}

extension Event {
    /// The decision for `command` when what it asks for holds already.
    public static func unchanged(_ command: Command, _ reason: String) -> Event {
        Event(CommandUnchanged(commandType: command.type, reason: reason))
    }
}
