import Events

/// Refused attempts have no state: each is recorded as it comes.
extension AccessAggregate: AggregateDecider {
    public typealias State = Int
    public static func validate(_ command: Command) -> [ValidationError] { IdentityValidation.validate(command) }
    public static func evolve(_ state: Int?, _ envelope: EventEnvelope) -> Int? { (state ?? 0) + 1 }

    public static func decide(_ command: Command, state: Int?) -> Result<[Event], Rejection> {
        let errors = validate(command)
        if !errors.isEmpty { return .failure(Rejection(.invalid, errors.map(\.description).joined(separator: "; "))) }
        guard let c = command.as(RecordAccessDenied.self) else {
            return .failure(Rejection(.invalid, "\(command.type) is not a command for refused attempts"))
        }
        return .success([Event(AccessDenied(subject: c.subject, method: c.method, path: c.path, permission: c.permission))])
    }
}
