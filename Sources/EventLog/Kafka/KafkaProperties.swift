import Foundation

/// Security settings passed through to librdkafka from a properties file (`WHARF_KAFKA_PROPERTIES`): one
/// `name=value` per line, `#` comments, librdkafka's own names. Only `security.*`, `ssl.*` and `sasl.*` are taken
/// (TLS and SASL to the brokers); the rest of the configuration is Wharf's, which relies on it for its guarantees.
public enum KafkaProperties {
    public static let variable = "WHARF_KAFKA_PROPERTIES"
    static let allowedPrefixes = ["security.", "ssl.", "sasl."]

    /// The settings of the file the environment names (none when it names none).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> [String: String] {
        guard let path = env[variable], !path.isEmpty else { return [:] }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw KafkaError("\(variable): cannot read \(path)")
        }
        return try parse(text, source: path)
    }

    public static func parse(_ text: String, source: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else { throw KafkaError("\(variable) \(source) line \(i + 1): expected name=value") }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces), value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard allowedPrefixes.contains(where: { name.hasPrefix($0) }) else {
                throw KafkaError("\(variable) \(source) line \(i + 1): \(name) is not a security setting (security.*, ssl.*, sasl.*); Wharf sets the others itself")
            }
            out[name] = value
        }
        return out
    }
}
