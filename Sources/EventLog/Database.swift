import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// A running connection pool plus the means to open dedicated connections (LISTEN, advisory locks).
/// `Database.open` starts the pool's run loop; `close()` stops it.
public final class Database: Sendable {
    public let settings: DatabaseSettings
    public let client: PostgresClient
    public let logger: Logger
    private let runTask: Task<Void, Never>

    private init(settings: DatabaseSettings, client: PostgresClient, logger: Logger, runTask: Task<Void, Never>) {
        self.settings = settings; self.client = client; self.logger = logger; self.runTask = runTask
    }

    /// Opens the pool and checks that the server answers, retrying with backoff for up to `patience`.
    public static func open(_ settings: DatabaseSettings, logger: Logger, patience: Duration = .seconds(30)) async throws -> Database {
        // The pool's own chatter (connection attempts) only matters when something is wrong.
        var background = logger
        background.logLevel = max(logger.logLevel, .warning)
        let client = PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: background)
        let task = Task { await client.run() }
        let db = Database(settings: settings, client: client, logger: logger, runTask: task)
        // Give the pool's run loop a moment to start before the first lease (otherwise PostgresNIO warns).
        try await Task.sleep(for: .milliseconds(20))
        let clock = ContinuousClock()
        let deadline = clock.now + patience
        var delay = Duration.milliseconds(100)
        while true {
            do {
                try await client.query("SELECT 1", logger: logger)
                return db
            } catch {
                if clock.now >= deadline {
                    task.cancel()
                    throw DatabaseUnavailable(settings: settings, underlying: error)
                }
                logger.warning("Postgres at \(settings) is not answering yet; retrying in \(delay)", metadata: ["error": "\(String(reflecting: error))"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    /// Stops the pool. Bounded: a pool whose run loop does not return (seen in the test suite: no connection left, yet
    /// `run()` never ended, and every later step of the process waited behind it) is left behind with a warning.
    public func close(within limit: Duration = .seconds(15)) async {
        runTask.cancel()
        let task = runTask
        if await !finishes(within: limit, { _ = await task.value }) {
            logger.warning("the Postgres pool for \(settings.database) did not stop within \(limit); left behind")
        }
    }

    /// A connection outside the pool, for sessions that must stay put (LISTEN, session advisory locks).
    public func dedicatedConnection() async throws -> PostgresConnection {
        try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(),
                                             configuration: settings.connectionConfiguration,
                                             id: Int.random(in: 1...Int(Int32.max)), logger: logger)
    }

    /// Runs statements one after another in one transaction (schema set-up). The extended protocol takes one
    /// statement per query, so DDL is kept as a list rather than a script.
    public func execute(statements: [String]) async throws {
        try await client.withTransaction(logger: logger) { connection in
            for statement in statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
            }
        }
    }

    /// Runs each statement in its own transaction on its own connection, all at once (index builds after a bulk
    /// load: each is one backend's work, so running them side by side uses every core).
    public func executeConcurrently(statements: [String]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for statement in statements {
                group.addTask { try await self.execute(statements: [statement]) }
            }
            try await group.waitForAll()
        }
    }
}

public struct DatabaseUnavailable: Error, CustomStringConvertible {
    public var settings: DatabaseSettings
    public var underlying: any Error
    public var description: String {
        "cannot reach Postgres at \(settings): \(String(reflecting: underlying)). Is it running? Check WHARF_DATABASE_URL."
    }
}

extension Database {
    /// Creates a new empty database beside `base` (for tests and benchmarks) and returns its settings.
    public static func createScratch(base: DatabaseSettings, prefix: String, logger: Logger) async throws -> DatabaseSettings {
        let name = "\(prefix)_\(UInt32.random(in: 0...UInt32.max))_\(Int(Date().timeIntervalSince1970))"
        let admin = try await Database.open(base.with(database: "postgres"), logger: logger)
        defer { Task { await admin.close() } }
        try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        return base.with(database: name)
    }

    public static func dropScratch(_ settings: DatabaseSettings, logger: Logger) async throws {
        let admin = try await Database.open(settings.with(database: "postgres"), logger: logger)
        try await admin.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(settings.database) WITH (FORCE)"), logger: logger)
        await admin.close()
    }
}
