/// The two topics of the spine. Both have the same partition count.
public enum Topics {
    public static let commands = "commands"
    /// Hash-chained per partition by its single writer, the command processor.
    public static let events = "events"
    /// Signed checkpoints of the events chains (see Checkpoint), keyed "events/<partition>".
    public static let checkpoints = "checkpoints"
}

/// Aggregate keys are "<kind>/<id>", e.g. "service/payments-api".
public enum AggregateKey {
    public static func split(_ key: String) -> (kind: String, id: String)? {
        guard let slash = key.firstIndex(of: "/") else { return nil }
        let kind = String(key[..<slash]), id = String(key[key.index(after: slash)...])
        guard !kind.isEmpty, !id.isEmpty else { return nil }
        return (kind, id)
    }
}
