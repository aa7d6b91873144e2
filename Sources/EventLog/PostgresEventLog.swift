import Events
import Foundation
import Logging
import PostgresNIO

/// The embedded default log: topics and records in Postgres (schema `wharf_log`), woken by LISTEN/NOTIFY.
public final class PostgresEventLog: EventLog, @unchecked Sendable {
    public let database: Database
    private let signal = AppendSignal()
    private let logger: Logger
    private var listenTask: Task<Void, Never>?
    private let partitionCounts = NSLock()
    private var knownPartitions: [String: Int] = [:]
    private var localHandlers: [@Sendable (LocalAppend) -> Void] = []
    private let recent = RecentAppends()

    /// Opens the log on `database` and creates its schema when missing. Starts the LISTEN loop.
    public static func open(database: Database, listen: Bool = true) async throws -> PostgresEventLog {
        let log = PostgresEventLog(database: database)
        try await database.execute(statements: PostgresLogSchema.statements)
        if listen { log.startListening() }
        return log
    }

    private init(database: Database) {
        self.database = database
        self.logger = database.logger
    }

    public func close() {
        listenTask?.cancel()
    }

    public func ensureTopics(_ topics: [TopicSpec]) async throws {
        do {
            try await createTopics(topics)
        } catch let error as PostgresTransactionError {
            // Surface our own refusal (e.g. a partition count mismatch) rather than the transaction wrapper.
            if let own = error.closureError as? EventLogError { throw own }
            throw error
        }
        partitionCounts.withLock { for t in topics { knownPartitions[t.name] = t.partitions } }
    }

    private func createTopics(_ topics: [TopicSpec]) async throws {
        try await database.client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresLogSchema.setupLockKey))", logger: self.logger)
            for topic in topics {
                let rows = try await connection.query(
                    "SELECT partitions FROM wharf_log.topics WHERE topic = \(topic.name)", logger: self.logger)
                var existing: Int?
                for try await (count) in rows.decode(Int.self) { existing = count }
                if let existing {
                    guard existing == topic.partitions else {
                        throw EventLogError.partitionCountMismatch(topic: topic.name, existing: existing, requested: topic.partitions)
                    }
                    try await connection.query("UPDATE wharf_log.topics SET derived = \(topic.derived) WHERE topic = \(topic.name)", logger: self.logger)
                    continue
                }
                try await connection.query(
                    "INSERT INTO wharf_log.topics (topic, partitions, chained, derived) VALUES (\(topic.name), \(topic.partitions), \(topic.chained), \(topic.derived))",
                    logger: self.logger)
                try await connection.query(
                    "INSERT INTO wharf_log.partitions (topic, partition) SELECT \(topic.name), generate_series(0, \(topic.partitions - 1))",
                    logger: self.logger)
            }
        }
    }

    public func partitionCount(topic: String) async throws -> Int {
        if let known = partitionCounts.withLock({ knownPartitions[topic] }) { return known }
        let rows = try await database.client.query("SELECT partitions FROM wharf_log.topics WHERE topic = \(topic)", logger: logger)
        for try await count in rows.decode(Int.self) {
            partitionCounts.withLock { knownPartitions[topic] = count }
            return count
        }
        throw EventLogError.unknownPartition(topic: topic, partition: 0)
    }

    public var denseOffsets: Bool { true }

    @discardableResult
    public func append(topic: String, partition: Int, records: [OutgoingRecord], expectedNextOffset: Int64?) async throws -> Appended {
        let keys = records.map(\.key), values = records.map(\.value)
        do {
            let rows = try await database.client.query(
                "SELECT wharf_log.append(\(topic), \(partition)::int, \(expectedNextOffset)::bigint, \(keys), \(values))", logger: logger)
            var first: Int64 = -1
            for try await offset in rows.decode(Int64.self) { first = offset }
            return committed(topic: topic, partition: partition, first: first, records: records)
        } catch let error as PSQLError {
            switch error.serverInfo?[.sqlState] {
            case "WH001": throw EventLogError.unknownPartition(topic: topic, partition: partition)
            case "WH002":
                let actual = Int64(error.serverInfo?[.detail] ?? "") ?? -1
                throw EventLogError.offsetMismatch(topic: topic, partition: partition, expected: expectedNextOffset ?? -1, actual: actual)
            default: throw error
            }
        }
    }

    /// After an append committed: keep its records for this process's readers, tell in-process listeners and wake
    /// local readers at once (other processes hear the NOTIFY).
    private func committed(topic: String, partition: Int, first: Int64, records: [OutgoingRecord]) -> Appended {
        let offsets = (0..<Int64(records.count)).map { first + $0 }
        recent.add(topic: topic, partition: partition, offsets: offsets, records: records)
        let handlers = partitionCounts.withLock { localHandlers }
        if !handlers.isEmpty, !records.isEmpty {
            let local = LocalAppend(topic: topic, partition: partition, offsets: offsets, records: records)
            handlers.forEach { $0(local) }
        }
        signal.appended(topic: topic, partition: partition, end: first + Int64(records.count))
        return Appended(offsets: offsets)
    }

    public func appendEach(topic: String, batches: [(partition: Int, records: [OutgoingRecord])]) async throws -> [Appended] {
        let order = batches.indices.sorted { batches[$0].partition < batches[$1].partition }
        guard zip(order, order.dropFirst()).allSatisfy({ batches[$0].partition < batches[$1].partition }) else {
            preconditionFailure("appendEach: a partition appears twice")
        }
        let partitions = order.map { batches[$0].partition }, counts = order.map { batches[$0].records.count }
        let keys = order.flatMap { batches[$0].records.map(\.key) }, values = order.flatMap { batches[$0].records.map(\.value) }
        var firsts: [Int64] = []
        do {
            let rows = try await database.client.query(
                "SELECT wharf_log.append_each(\(topic), \(partitions)::int[], \(counts)::int[], \(keys), \(values))", logger: logger)
            for try await row in rows.decode([Int64].self) { firsts = row }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "WH001" {
            throw EventLogError.unknownPartition(topic: topic, partition: partitions.first ?? 0)
        }
        guard firsts.count == order.count else { throw EventLogError.unknownPartition(topic: topic, partition: partitions.first ?? 0) }
        var out = [Appended](repeating: Appended(offsets: []), count: batches.count)
        for (k, i) in order.enumerated() {
            out[i] = committed(topic: topic, partition: batches[i].partition, first: firsts[k], records: batches[i].records)
        }
        return out
    }

    public func read(topic: String, partition: Int, from offset: Int64, limit: Int, includeChain: Bool) async throws -> [LogRecord] {
        // Consumers (no chain) get this process's own recent appends from memory: per write, every one of them asked
        // for the row just written. Reads with the chain (verifiers, a processor's fold) always ask the store, so
        // that what they check is what is stored.
        if !includeChain, let mine = recent.read(topic: topic, partition: partition, from: offset, limit: limit) {
            return mine
        }
        var out: [LogRecord] = []
        out.reserveCapacity(min(limit, 1024))
        guard includeChain else {
            // Projections skip the hashes: fewer columns to send and decode per record.
            let rows = try await database.client.query("""
                SELECT "offset", key, value FROM wharf_log.records
                 WHERE topic = \(topic) AND partition = \(partition) AND "offset" >= \(offset)
                 ORDER BY "offset" LIMIT \(limit)
                """, logger: logger)
            // Cell by cell: decoding rows as tuples goes through variadic generics, whose metadata lookups cost more
            // per record than the rest of a projection's read.
            for try await row in rows {
                var cells = row.makeIterator()
                guard let off = cells.next(), let key = cells.next(), let value = cells.next() else { preconditionFailure("the query selects 3 columns") }
                out.append(LogRecord(topic: topic, partition: partition, offset: try off.decode(Int64.self), key: try key.decode(String.self),
                                     value: try value.decode(String.self), prevHash: nil, hash: nil))
            }
            return out
        }
        let rows = try await database.client.query("""
            SELECT "offset", key, value, encode(prev_hash, 'hex'), encode(hash, 'hex') FROM wharf_log.records
             WHERE topic = \(topic) AND partition = \(partition) AND "offset" >= \(offset)
             ORDER BY "offset" LIMIT \(limit)
            """, logger: logger)
        for try await row in rows {
            var cells = row.makeIterator()
            guard let off = cells.next(), let key = cells.next(), let value = cells.next(), let prev = cells.next(), let hash = cells.next() else {
                preconditionFailure("the query selects 5 columns")
            }
            out.append(LogRecord(topic: topic, partition: partition, offset: try off.decode(Int64.self), key: try key.decode(String.self),
                                 value: try value.decode(String.self), prevHash: try prev.decode(String?.self), hash: try hash.decode(String?.self)))
        }
        return out
    }

    /// Packed by the server (see ChainBatch), one row per 100 records: per-row decoding on the client cost more
    /// than hashing the records, and the hashes travel as bytes rather than hex. Pieces stay small because large
    /// aggregates made the server fault in fresh memory for every batch. `textsend` gives the text's bytes as they
    /// are (a `::bytea` cast would parse backslash escapes). The pieces come in any order and are sorted by their
    /// first offset; within a piece the aggregate takes the subquery's order, which the verifier checks anyway.
    public func readChain(topic: String, partition: Int, from offset: Int64, limit: Int) async throws -> ChainBatch {
        let rows = try await database.client.query("""
            SELECT string_agg(int8send(r."offset") || int4send(octet_length(r.key)) || textsend(r.key)
                              || int4send(octet_length(r.value)) || int4send(coalesce(octet_length(r.prev_hash), 0))
                              || int4send(coalesce(octet_length(r.hash), 0))
                              || coalesce(r.hash, ''::bytea) || coalesce(r.prev_hash, ''::bytea) || textsend(r.value),
                              ''::bytea)
              FROM (SELECT "offset", key, value, prev_hash, hash FROM wharf_log.records
                     WHERE topic = \(topic) AND partition = \(partition) AND "offset" >= \(offset)
                     ORDER BY "offset" LIMIT \(limit)) r
             GROUP BY r."offset" / 100
            """, logger: logger)
        var pieces: [ByteBuffer] = []
        for try await piece in rows.decode(ByteBuffer.self) { pieces.append(piece) }
        return try ChainBatch(packed: pieces)
    }

    public func endOffsets(topic: String) async throws -> [Int64] {
        let rows = try await database.client.query(
            "SELECT next_offset FROM wharf_log.partitions WHERE topic = \(topic) ORDER BY partition", logger: logger)
        var ends: [Int64] = []
        for try await next in rows.decode(Int64.self) { ends.append(next) }
        guard !ends.isEmpty else { throw EventLogError.unknownPartition(topic: topic, partition: 0) }
        return ends
    }

    public func endOffset(topic: String, partition: Int) async throws -> Int64 {
        let rows = try await database.client.query(
            "SELECT next_offset FROM wharf_log.partitions WHERE topic = \(topic) AND partition = \(partition)", logger: logger)
        for try await next in rows.decode(Int64.self) { return next }
        throw EventLogError.unknownPartition(topic: topic, partition: partition)
    }

    public func waitForRecords(topic: String, partition: Int, from offset: Int64, timeout: Duration) async {
        await signal.wait(topic: topic, partition: partition, from: offset, timeout: timeout)
    }

    public func onLocalAppend(_ handler: @escaping @Sendable (LocalAppend) -> Void) {
        partitionCounts.withLock { localHandlers.append(handler) }
    }

    public func makeOwnership(group: String) async throws -> any PartitionOwnership {
        try await PostgresPartitionOwnership(database: database, group: group)
    }

    /// LISTEN on a dedicated connection; reconnects with backoff. After a reconnect every waiter is woken,
    /// because notifications sent while we were away are gone.
    private func startListening() {
        let database = self.database, signal = self.signal, logger = self.logger
        listenTask = Task {
            var delay = Duration.milliseconds(100)
            while !Task.isCancelled {
                do {
                    let connection = try await database.dedicatedConnection()
                    defer { Task { try? await connection.close() } }
                    try await connection.listen(on: "wharf_log") { notifications in
                        signal.wakeAll()
                        delay = .milliseconds(100)
                        for try await note in notifications {
                            let parts = note.payload.split(separator: ":")
                            guard parts.count == 3, let p = Int(parts[1]), let end = Int64(parts[2]) else { continue }
                            signal.appended(topic: String(parts[0]), partition: p, end: end)
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("log notifications interrupted; reconnecting", metadata: ["error": "\(error)"])
                }
                signal.wakeAll()
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
