import Events

/// Field rules of every command, by its aggregate kind. The API runs them at the door, the deciders again.
public enum CommandValidation {
    public static func validate(_ command: Command) -> [ValidationError] {
        guard let decider = Deciders.forKey(command.aggregate) else {
            return [ValidationError(field: "aggregate", message: "no aggregate kind is registered for \"\(command.aggregate)\"")]
        }
        return decider.validate(command)
    }
}
