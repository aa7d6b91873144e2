import Foundation

/// Settings from the environment (see README "Settings").
public struct WharfSettings: Sendable {
    public var httpHost: String
    public var httpPort: Int
    public var dataDirectory: String
    /// nil: a private Postgres under the data directory.
    public var databaseURL: String?
    public var eventLog: String
    public var partitions: Int
    public var bootstrapToken: String?
    /// Ed25519 key that signs checkpoints of the events chains; created on first start. Its public half is
    /// `<file>.pub`, what `wharf audit verify` trusts by default.
    public var signingKeyFile: String

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> WharfSettings {
        func int(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let text = env[name], !text.isEmpty else { return fallback }
            guard let value = Int(text), range.contains(value) else {
                throw Invalid(description: "\(name) must be a whole number between \(range.lowerBound) and \(range.upperBound) (got \"\(text)\")")
            }
            return value
        }
        let log = env["WHARF_EVENT_LOG"].flatMap { $0.isEmpty ? nil : $0 } ?? "postgres"
        guard log == "postgres" else {
            throw Invalid(description: "WHARF_EVENT_LOG=\(log) is not supported by this build; use \"postgres\" (the Kafka adapter is not built yet)")
        }
        let dataDirectory = env["WHARF_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "./.wharf"
        return WharfSettings(
            httpHost: env["WHARF_HTTP_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1",
            httpPort: try int("WHARF_HTTP_PORT", 8080, 0...65535),
            dataDirectory: dataDirectory,
            databaseURL: env["WHARF_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 },
            eventLog: log,
            partitions: try int("WHARF_PARTITIONS", 12, 1...1024),
            bootstrapToken: env["WHARF_BOOTSTRAP_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
            signingKeyFile: env["WHARF_SIGNING_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? dataDirectory + "/checkpoint-signing.key")
    }
}
