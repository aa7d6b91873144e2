import Commands
import EventLog
import Events
import Logging
import PostgresNIO
import Projections

// A tiny aggregate that exists only in the tests: it proves that a new kind joins Wharf through its own files and
// one registration line (`Aggregates.register(TestCounterAggregate.self)`), with no edit to generic code.

struct IncrementTestCounter: CommandPayload {
    static let type = "IncrementTestCounter"
    var name: String
    var by: Int
    var aggregate: String { "\(TestCounterAggregate.kind)/\(name)" }
}

struct TestCounterIncremented: EventPayload {
    static let type = "TestCounterIncremented"
    var name: String
    var by: Int
    var total: Int
}

enum TestCounterAggregate: AggregateKind {
    static let kind = "test-counter"
    static let commandTypes: [any CommandPayload.Type] = [IncrementTestCounter.self]
    static let eventTypes: [any EventPayload.Type] = [TestCounterIncremented.self]
    static let limit = 1000
}

extension TestCounterAggregate: AggregateDecider {
    static func validate(_ command: Command) -> [ValidationError] {
        guard let c = command.as(IncrementTestCounter.self) else { return [ValidationError(field: "type", message: "not a counter command")] }
        return c.by > 0 ? [] : [ValidationError(field: "by", message: "must be positive")]
    }

    static func decide(_ command: Command, state: Int?) -> Result<[Event], Rejection> {
        let errors = validate(command)
        guard errors.isEmpty, let c = command.as(IncrementTestCounter.self) else {
            return .failure(Rejection(.invalid, errors.map(\.description).joined(separator: "; ")))
        }
        let total = (state ?? 0) + c.by
        guard total <= limit else { return .failure(Rejection(.conflict, "counter \(c.name) would pass \(limit)")) }
        return .success([Event(TestCounterIncremented(name: c.name, by: c.by, total: total))])
    }

    static func evolve(_ state: Int?, _ envelope: EventEnvelope) -> Int? {
        envelope.event.as(TestCounterIncremented.self)?.total ?? state
    }
}

extension TestCounterAggregate: ProjectedAggregate {
    static var readModels: [any ReadModel] { [TestCounterReadModel()] }
}

struct TestCounterReadModel: ReadModel {
    let name = "test-counters"
    var layoutVersion = 1
    let tables = ["test_counters"]

    func createStatements(schema: String) -> [String] {
        ["CREATE TABLE IF NOT EXISTS \(schema).test_counters (name text PRIMARY KEY, total int NOT NULL, increments int NOT NULL)"]
    }

    func apply(_ events: ProjectedEvents, schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        for event in events {
            guard let e = event.envelope.event.as(TestCounterIncremented.self) else { continue }
            try await connection.query(PostgresQuery(unsafeSQL: """
                INSERT INTO \(schema).test_counters (name, total, increments) VALUES ($1, $2, 1)
                ON CONFLICT (name) DO UPDATE SET total = EXCLUDED.total, increments = \(schema).test_counters.increments + 1
                """, binds: try Self.binds(e.name, e.total)), logger: logger)
        }
    }

    private static func binds(_ values: any PostgresEncodable...) throws -> PostgresBindings {
        var b = PostgresBindings(capacity: values.count)
        for value in values { try b.append(value) }
        return b
    }
}
