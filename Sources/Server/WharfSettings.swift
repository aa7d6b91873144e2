import Foundation

/// Settings from the environment (see README "Settings").
public struct WharfSettings: Sendable {
    public var httpHost: String
    public var httpPort: Int
    public var dataDirectory: String
    /// nil: a private Postgres under the data directory.
    public var databaseURL: String?
    /// "postgres" (the embedded default) or "kafka://host:port[,host:port]".
    public var eventLog: String
    /// Kafka bootstrap servers when `eventLog` is a kafka:// URL.
    public var kafkaBrokers: String?
    /// Topic names on Kafka are `<prefix>commands`, `<prefix>events`, `<prefix>checkpoints`.
    public var kafkaTopicPrefix: String
    /// Replication factor of topics Wharf creates on Kafka; -1 takes the broker's default.
    public var kafkaReplication: Int
    /// Partitions of the spine topics: WHARF_PARTITIONS on Postgres, WHARF_KAFKA_PARTITIONS on Kafka.
    public var partitions: Int
    public var bootstrapToken: String?
    /// Ed25519 key that signs checkpoints of the events chains; created on first start. Its public half is
    /// `<file>.pub`, what `wharf audit verify` trusts by default.
    public var signingKeyFile: String
    /// WHARF_SECRET_KEYS: the keys that seal secret env values (made with one new key when missing).
    public var secretKeysFile: String
    /// WHARF_COMMAND_KEYS: the keys that authenticate command records (made with one new key when missing).
    public var commandKeysFile: String
    /// The command processor snapshots each partition's state after this many events (and a minute after the
    /// last snapshot if any arrived), so a takeover folds only the tail.
    public var snapshotEvery: Int
    /// SSO: JWT bearer tokens from a company's identity provider, when configured.
    public var sso: SSOSettings?
    /// PEM certificate chain and private key: the API serves HTTPS.
    public var tls: (certificate: String, key: String)?

    public struct SSOSettings: Sendable, Equatable {
        public var issuer: String
        public var audience: String
        /// A JWKS file path, or an http(s) URL fetched on start and again when a token names an unknown key.
        public var jwks: String
        /// The claim naming the user (a DNS-1123 label).
        public var userClaim: String
        public init(issuer: String, audience: String, jwks: String, userClaim: String) {
            self.issuer = issuer; self.audience = audience; self.jwks = jwks; self.userClaim = userClaim
        }
    }

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
        var brokers: String?
        if log != "postgres" {
            brokers = try kafkaBrokers(log)
        }
        let prefix = env["WHARF_KAFKA_TOPIC_PREFIX"] ?? "wharf."
        guard prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw Invalid(description: "WHARF_KAFKA_TOPIC_PREFIX may only contain ASCII letters, digits, '.', '_' and '-' (got \"\(prefix)\")")
        }
        let dataDirectory = env["WHARF_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "./.wharf"
        return WharfSettings(
            httpHost: env["WHARF_HTTP_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1",
            httpPort: try int("WHARF_HTTP_PORT", 8080, 0...65535),
            dataDirectory: dataDirectory,
            databaseURL: env["WHARF_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 },
            eventLog: log,
            kafkaBrokers: brokers,
            kafkaTopicPrefix: prefix,
            kafkaReplication: try int("WHARF_KAFKA_REPLICATION", -1, -1...32),
            partitions: brokers == nil ? try int("WHARF_PARTITIONS", 12, 1...1024) : try int("WHARF_KAFKA_PARTITIONS", 12, 1...1024),
            bootstrapToken: env["WHARF_BOOTSTRAP_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
            signingKeyFile: env["WHARF_SIGNING_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? dataDirectory + "/checkpoint-signing.key",
            secretKeysFile: env["WHARF_SECRET_KEYS"].flatMap { $0.isEmpty ? nil : $0 } ?? dataDirectory + "/secret-env.keys",
            commandKeysFile: env["WHARF_COMMAND_KEYS"].flatMap { $0.isEmpty ? nil : $0 } ?? dataDirectory + "/command-auth.keys",
            snapshotEvery: try int("WHARF_SNAPSHOT_EVERY", 10_000, 10...10_000_000),
            sso: try sso(env),
            tls: try tls(env))
    }

    /// WHARF_TLS_CERT and WHARF_TLS_KEY together, or neither.
    static func tls(_ env: [String: String]) throws -> (certificate: String, key: String)? {
        let cert = env["WHARF_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 }, key = env["WHARF_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (cert, key) {
        case (nil, nil): return nil
        case let (c?, k?): return (c, k)
        case (nil, _): throw Invalid(description: "WHARF_TLS_CERT is needed too: HTTPS takes WHARF_TLS_CERT and WHARF_TLS_KEY together")
        case (_, nil): throw Invalid(description: "WHARF_TLS_KEY is needed too: HTTPS takes WHARF_TLS_CERT and WHARF_TLS_KEY together")
        }
    }

    /// WHARF_JWT_ISSUER, WHARF_JWT_AUDIENCE and WHARF_JWT_JWKS together, or none of them.
    static func sso(_ env: [String: String]) throws -> SSOSettings? {
        let names = ["WHARF_JWT_ISSUER", "WHARF_JWT_AUDIENCE", "WHARF_JWT_JWKS"]
        let values = names.map { env[$0].flatMap { $0.isEmpty ? nil : $0 } }
        if values.allSatisfy({ $0 == nil }) { return nil }
        if let missing = zip(names, values).first(where: { $0.1 == nil })?.0 {
            throw Invalid(description: "\(missing) is needed too: SSO takes WHARF_JWT_ISSUER, WHARF_JWT_AUDIENCE and WHARF_JWT_JWKS together")
        }
        return SSOSettings(issuer: values[0]!, audience: values[1]!, jwks: values[2]!,
                           userClaim: env["WHARF_JWT_USER_CLAIM"].flatMap { $0.isEmpty ? nil : $0 } ?? "preferred_username")
    }

    /// `kafka://host:port[,host:port]` to librdkafka's `host:port,host:port`.
    static func kafkaBrokers(_ url: String) throws -> String {
        let usage = "WHARF_EVENT_LOG must be \"postgres\" or \"kafka://host:port[,host:port...]\" (got \"\(url)\")"
        guard url.hasPrefix("kafka://") else { throw Invalid(description: usage) }
        let list = url.dropFirst("kafka://".count).split(separator: ",", omittingEmptySubsequences: false)
        guard !list.isEmpty else { throw Invalid(description: usage) }
        for broker in list {
            guard let colon = broker.lastIndex(of: ":"), !broker[..<colon].isEmpty,
                  broker[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-[]:".contains($0)) }),
                  let port = Int(broker[broker.index(after: colon)...]), (1...65535).contains(port) else {
                throw Invalid(description: "\(usage): \"\(broker)\" is not host:port")
            }
        }
        return list.joined(separator: ",")
    }
}
