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
    /// The kind part of a key, without splitting off the id (hot paths: every decided and replayed event).
    public static func kind(of key: String) -> String? {
        guard let slash = key.utf8.firstIndex(of: UInt8(ascii: "/")), slash != key.utf8.startIndex,
              key.utf8.index(after: slash) != key.utf8.endIndex else { return nil }
        return String(key[..<slash])
    }

    public static func split(_ key: String) -> (kind: String, id: String)? {
        guard let slash = key.firstIndex(of: "/") else { return nil }
        let kind = String(key[..<slash]), id = String(key[key.index(after: slash)...])
        guard !kind.isEmpty, !id.isEmpty else { return nil }
        return (kind, id)
    }
}
