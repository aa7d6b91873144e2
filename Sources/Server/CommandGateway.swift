import Commands
import Crypto
import EventLog
import Events
import Foundation
import Logging
import PostgresNIO
import Prometheus
import Projections

/// What a write answers: the outcome of the intent, or "pending" when it was logged but not decided in time.
public struct WriteResult: Sendable {
    /// `unchanged`: what the command asked for held already (200, one CommandUnchanged event).
    public enum Kind: Sendable { case accepted, unchanged(CommandUnchanged), rejected(CommandRejected), pending }
    public var kind: Kind
    public var commandId: String
    public var commandType: String
    public var commandPosition: LogPosition?
    public var position: LogPosition?
    /// JSON array of the event envelopes (canonical text as stored).
    public var eventsJSON: String
}

/// The door between HTTP and the log: turns a validated command into a logged intent and waits for its outcome.
/// Repeats with the same `Idempotency-Key` answer the original outcome and append nothing.
public final class CommandGateway: Sendable {
    let log: any EventLog
    let database: Database
    let tracker: OutcomeTracker
    let queries: ReadModelQueries
    let partitions: Int
    let decisionTimeout: Duration
    let registry: PrometheusCollectorRegistry
    let health: PartitionHealth
    /// Authenticates every command record this gateway appends (the processor refuses records without it).
    let authenticator: CommandAuthenticator
    /// Set by `wharf bench http --trace`: every write's stages are recorded there.
    public let trace: WriteTrace?
    /// Concurrent writes share one append (one commit).
    private let group: CommandGroupCommit

    public init(log: any EventLog, database: Database, tracker: OutcomeTracker, partitions: Int, registry: PrometheusCollectorRegistry,
                authenticator: CommandAuthenticator, health: PartitionHealth = PartitionHealth(), decisionTimeout: Duration = .seconds(10),
                trace: WriteTrace? = nil) {
        self.trace = trace
        self.group = CommandGroupCommit(log: log)
        self.log = log; self.database = database; self.tracker = tracker; self.partitions = partitions; self.health = health
        self.authenticator = authenticator
        self.queries = ReadModelQueries(database: database); self.decisionTimeout = decisionTimeout; self.registry = registry
    }

    /// wharf_commands_total{type, outcome}: every answered write (accepted, unchanged, rejected, pending, repeat).
    private func count(_ result: WriteResult, repeated: Bool = false) -> WriteResult {
        let outcome: String
        switch result.kind {
        case .accepted: outcome = "accepted"
        case .unchanged: outcome = "unchanged"
        case .rejected: outcome = "rejected"
        case .pending: outcome = "pending"
        }
        registry.makeCounter(name: "wharf_commands_total", labels: [("type", result.commandType), ("outcome", outcome),
                                                                   ("repeat", repeated ? "true" : "false")]).increment()
        return result
    }

    public func submit(_ command: Command, actor: String, correlationId: String?, authorizedLine: String? = nil,
                       idempotencyKey: String?) async throws -> WriteResult {
        let errors = CommandValidation.validate(command)
        if let first = errors.first {
            throw APIError(.unprocessableContent, errors.map(\.description).joined(separator: "; "), field: first.field)
        }
        // A partition whose processor stopped would leave the intent undecided: say so at once, append nothing.
        let target = Partitioner.partition(for: command.aggregate, partitions: partitions)
        if let reason = health.haltReason(group: CommandPartitionProcessor.group, partition: target) {
            throw APIError(.serviceUnavailable, "partition \(target) of the command processor is halted: \(reason)")
        }
        var commandId = UUID().uuidString.lowercased()
        let now = WharfTime.format(Date())
        var retryOfUnacknowledged = false
        if let key = idempotencyKey {
            guard (1...200).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
                throw APIError(.badRequest, "Idempotency-Key must be 1-200 visible ASCII characters", field: "Idempotency-Key")
            }
            commandId = Self.commandId(actor: actor, key: key)
            // The fingerprint is the intent itself, without the envelope's time and ids.
            let fingerprint = HashChain.hex(SHA256.hash(data: Array(try CanonicalJSON.encode(
                CommandEnvelope(id: "", actor: actor, time: "", correlationId: "", authorizedLine: authorizedLine, command: command)).utf8)))
            switch try await claim(actor: actor, key: key, fingerprint: fingerprint, commandId: commandId) {
            case .claimed:
                break
            case .claimedButNeverLogged:
                // The first attempt may have been logged (and decided) before its acknowledgement was lost.
                if let found = try await queries.outcome(commandId: commandId) {
                    return count(try await result(from: found, command: command, commandPosition: nil), repeated: true)
                }
                retryOfUnacknowledged = true
            case .mismatch:
                throw APIError(.unprocessableContent, "Idempotency-Key \"\(key)\" was already used for a different request", field: "Idempotency-Key")
            case .logged(let position):
                return count(try await recorded(commandId: commandId, command: command, commandPosition: position), repeated: true)
            }
        }
        let envelope = CommandEnvelope(id: commandId, actor: actor, time: now, correlationId: correlationId ?? commandId,
                                       authorizedLine: authorizedLine, command: command)
        let partition = Partitioner.partition(for: envelope.aggregate, partitions: partitions)
        let ticket = tracker.expect(commandId)
        let started = ContinuousClock.now
        let offset: Int64
        do {
            offset = try await group.append(try authenticator.record(envelope), partition: partition)
        } catch {
            tracker.forget(ticket)
            throw error
        }
        let commandPosition = LogPosition(partition: partition, offset: offset)
        let appended = ContinuousClock.now
        if let key = idempotencyKey {
            try await database.client.query("""
                UPDATE wharf_api.idempotency_keys SET command_position = \(commandPosition.description) WHERE actor = \(actor) AND key = \(key)
                """, logger: database.logger)
        }
        // A retry of an attempt that was logged after all is skipped by the processor (an id is decided once), so
        // its answer comes from history rather than from new events.
        let waited = await tracker.wait(ticket, timeout: retryOfUnacknowledged ? .seconds(1) : decisionTimeout)
        database.logger.debug("command \(commandId): appended in \(appended - started), decided in \(ContinuousClock.now - appended)")
        if let trace {
            trace.record("1 append", appended - started)
            trace.record("2 decided", ContinuousClock.now - appended)
        }
        guard let outcome = waited else {
            return count(try await recorded(commandId: commandId, command: command, commandPosition: commandPosition),
                         repeated: retryOfUnacknowledged)
        }
        return count(WriteResult(kind: outcome.kind, commandId: commandId, commandType: command.type,
                                 commandPosition: commandPosition, position: outcome.position,
                                 eventsJSON: "[" + outcome.events.map(\.record.value).joined(separator: ",") + "]"))
    }

    /// Appends a command without waiting for its decision (a refused attempt: the caller's answer is the 403).
    public func record(_ command: Command, actor: String) async throws {
        let errors = CommandValidation.validate(command)
        if let first = errors.first { throw APIError(.unprocessableContent, errors.map(\.description).joined(separator: "; "), field: first.field) }
        let id = UUID().uuidString.lowercased()
        let envelope = CommandEnvelope(id: id, actor: actor, time: WharfTime.format(Date()), correlationId: id, command: command)
        _ = try await group.append(try authenticator.record(envelope), partition: Partitioner.partition(for: envelope.aggregate, partitions: partitions))
    }

    /// (appends, command records) the gateway made since the last call: how many commands shared a commit.
    public func drainAppendCounts() -> (appends: Int, records: Int) { group.drainStats() }

    /// Deterministic per (actor, key), so a repeat that races the original still carries the same command id
    /// and the processor decides it once.
    static func commandId(actor: String, key: String) -> String {
        let digest = Array(SHA256.hash(data: Array("idempotency\u{0}\(actor)\u{0}\(key)".utf8)))
        let hex = HashChain.hex(digest.prefix(16))
        let h = Array(hex)
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-" + String(h[16..<20]) + "-" + String(h[20..<32])
    }

    private enum Claim { case claimed, claimedButNeverLogged, mismatch, logged(LogPosition) }

    private func claim(actor: String, key: String, fingerprint: String, commandId: String) async throws -> Claim {
        let inserted = try await database.client.query("""
            INSERT INTO wharf_api.idempotency_keys (actor, key, fingerprint, command_id) VALUES (\(actor), \(key), \(fingerprint), \(commandId))
            ON CONFLICT (actor, key) DO NOTHING RETURNING 1
            """, logger: database.logger)
        for try await _ in inserted { return .claimed }
        let rows = try await database.client.query("""
            SELECT fingerprint, command_position FROM wharf_api.idempotency_keys WHERE actor = \(actor) AND key = \(key)
            """, logger: database.logger)
        for try await (storedFingerprint, position) in rows.decode((String, String?).self) {
            guard storedFingerprint == fingerprint else { return .mismatch }
            // No position: the first attempt died before its append was acknowledged. Appending again is safe:
            // the command id is the same, and the processor never decides an id twice.
            guard let position, let logged = LogPosition(position) else { return .claimedButNeverLogged }
            return .logged(logged)
        }
        return .claimedButNeverLogged
    }

    /// The answer from history: the audit row, and the events themselves read back from the log (the truth).
    private func result(from found: RecordedOutcome, command: Command, commandPosition: LogPosition?) async throws -> WriteResult {
        let kind: WriteResult.Kind
        switch found.audit.outcome {
        case "rejected":
            kind = .rejected(CommandRejected(commandType: found.audit.commandType, code: RejectionCode(rawValue: found.audit.code ?? "") ?? .invalid,
                                             reason: found.audit.reason ?? ""))
        case "unchanged": kind = .unchanged(CommandUnchanged(commandType: found.audit.commandType, reason: found.audit.reason ?? ""))
        default: kind = .accepted
        }
        return WriteResult(kind: kind, commandId: found.audit.commandId, commandType: command.type,
                           commandPosition: commandPosition ?? LogPosition(found.audit.commandPosition), position: LogPosition(found.audit.position),
                           eventsJSON: try await eventsJSON(found))
    }

    private func eventsJSON(_ found: RecordedOutcome) async throws -> String {
        guard let last = LogPosition(found.audit.position), found.eventCount > 0 else { return "[]" }
        let records = try await log.read(topic: Topics.events, partition: last.partition,
                                         from: last.offset - Int64(found.eventCount) + 1, limit: found.eventCount)
        return "[" + records.map(\.value).joined(separator: ",") + "]"
    }

    /// A repeat: answer from history (the audit read model), waiting a bounded time for it to catch up.
    private func recorded(commandId: String, command: Command, commandPosition: LogPosition) async throws -> WriteResult {
        let clock = ContinuousClock()
        let deadline = clock.now + decisionTimeout
        while clock.now < deadline {
            if let found = try await queries.outcome(commandId: commandId) {
                return try await result(from: found, command: command, commandPosition: commandPosition)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return WriteResult(kind: .pending, commandId: commandId, commandType: command.type, commandPosition: commandPosition,
                           position: nil, eventsJSON: "[]")
    }
}
