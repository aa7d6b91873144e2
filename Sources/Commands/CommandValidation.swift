import Events

/// Field rules of every command, by aggregate. The API runs them at the door, the deciders again.
public enum CommandValidation {
    public static func validate(_ command: Command) -> [ValidationError] {
        switch AggregateKey.split(command.aggregate)?.kind {
        case "nginx-cluster": NginxValidation.validate(command)
        default: ServiceValidation.validate(command)
        }
    }
}
