import Foundation
import NIOSSL
import PostgresNIO

/// Where Wharf's Postgres is. Parsed from a libpq-style URL:
/// `postgres://user:password@host:port/database`, or `postgres://user@/database?host=/socket/dir` for a unix socket.
public struct DatabaseSettings: Sendable, Hashable, CustomStringConvertible {
    public var host: String?
    public var port: Int
    public var socketDirectory: String?
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool

    public init(host: String? = "127.0.0.1", port: Int = 5432, socketDirectory: String? = nil, username: String,
                password: String? = nil, database: String, requireTLS: Bool = false) {
        self.host = host; self.port = port; self.socketDirectory = socketDirectory
        self.username = username; self.password = password; self.database = database; self.requireTLS = requireTLS
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(url text: String) throws {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw ParseError(description: "WHARF_DATABASE_URL must look like postgres://user:password@host:port/database (got \(Self.redacted(text)))")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? username : path
        port = components.port ?? 5432
        if let dir = query["host"], dir.hasPrefix("/") {
            socketDirectory = dir
            host = nil
        } else {
            socketDirectory = nil
            host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        }
        requireTLS = ["require", "verify-ca", "verify-full"].contains(query["sslmode"] ?? "")
    }

    /// The same server, another database.
    public func with(database: String) -> DatabaseSettings {
        var copy = self
        copy.database = database
        return copy
    }

    /// A URL that `init(url:)` reads back to these settings, password included (for a child process).
    public var url: String {
        var c = URLComponents()
        c.scheme = "postgres"
        c.user = username
        c.password = password
        c.host = socketDirectory == nil ? (host ?? "127.0.0.1") : ""
        c.port = port
        c.path = "/" + database
        var items: [URLQueryItem] = []
        if let dir = socketDirectory { items.append(URLQueryItem(name: "host", value: dir)) }
        if requireTLS { items.append(URLQueryItem(name: "sslmode", value: "require")) }
        if !items.isEmpty { c.queryItems = items }
        return c.string ?? description
    }

    public var description: String {
        if let dir = socketDirectory { return "postgres://\(username)@/\(database)?host=\(dir)" }
        return "postgres://\(username)@\(host ?? "127.0.0.1"):\(port)/\(database)"
    }

    static func redacted(_ url: String) -> String {
        guard var c = URLComponents(string: url) else { return "<unparseable>" }
        if c.password != nil { c.password = "***" }
        return c.string ?? "<unparseable>"
    }

    public var clientConfiguration: PostgresClient.Configuration {
        var config: PostgresClient.Configuration
        if let dir = socketDirectory {
            config = .init(unixSocketPath: "\(dir)/.s.PGSQL.\(port)", username: username, password: password, database: database)
        } else {
            config = .init(host: host ?? "127.0.0.1", port: port, username: username, password: password, database: database,
                           tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        }
        config.options.maximumConnections = 24
        return config
    }

    public var connectionConfiguration: PostgresConnection.Configuration {
        if let dir = socketDirectory {
            return .init(unixSocketPath: "\(dir)/.s.PGSQL.\(port)", username: username, password: password, database: database)
        }
        return .init(host: host ?? "127.0.0.1", port: port, username: username, password: password, database: database,
                     tls: requireTLS ? .require(try! NIOSSLContext(configuration: .makeClientConfiguration())) : .disable)
    }
}
