/// The read models live in one Postgres schema. Rebuilds happen in a schema beside it; finished tables move in.
public enum ReadModelSchema {
    public static let live = "wharf_read"
    /// Where `wharf projections rebuild` and layout changes build read models before swapping them in.
    public static let rebuild = "wharf_read_rebuild"
    /// NOTIFY channel on which projectors announce progress ("schema:partition:nextOffset").
    public static let progressChannel = "wharf_read"

    /// The tables every schema of read models has besides the models' own.
    public static func baseStatements(schema s: String) -> [String] {
        [
            "CREATE SCHEMA IF NOT EXISTS \(s)",
            // The projector's checkpoint per events partition, written in the same transaction as the rows.
            "CREATE TABLE IF NOT EXISTS \(s).offsets (partition int PRIMARY KEY, next_offset bigint NOT NULL)",
            // Each read model's layout version; `ready` is false while a rebuild of it is under way, and the live
            // projector writes only ready models.
            "CREATE TABLE IF NOT EXISTS \(s).read_models (name text PRIMARY KEY, version int NOT NULL, ready boolean NOT NULL)",
        ]
    }
}

extension ReadModelSchema {
    /// A whole schema of read models: the base tables and the given models' tables, with their indexes unless
    /// `indexes` is false (bulk loads add them afterwards with `indexStatements`).
    public static func statements(schema s: String, models: [any ReadModel] = ReadModels.all, indexes: Bool = true) -> [String] {
        baseStatements(schema: s) + models.flatMap { $0.createStatements(schema: s) + (indexes ? $0.indexStatements(schema: s) : []) }
    }

    public static func indexStatements(schema s: String, models: [any ReadModel] = ReadModels.all) -> [String] {
        models.flatMap { $0.indexStatements(schema: s) }
    }
}
