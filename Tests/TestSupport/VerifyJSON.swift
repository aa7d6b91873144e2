/// Reading the report of `wharf audit verify --json`.
public enum VerifyJSON {
    /// Checkpoints checked over every partition of `topic`.
    public static func checkpointsChecked(_ report: [String: Any], topic: String) -> Int {
        ((report["partitions"] as? [[String: Any]]) ?? []).filter { $0["topic"] as? String == topic }
            .reduce(0) { $0 + ($1["checkpointsChecked"] as? Int ?? 0) }
    }
}
