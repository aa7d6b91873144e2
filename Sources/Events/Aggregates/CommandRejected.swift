/// Why a command was refused. `code` maps to the HTTP status the API answers with.
public enum RejectionCode: String, Codable, Hashable, Sendable {
    case notFound = "not_found"      // 404
    case conflict                   // 409
    case invalid                    // 422
}

/// Recorded for every refused intent, so the security team sees attempts too.
public struct CommandRejected: EventPayload {
    public static let type = "CommandRejected"
    /// Version 1's schema listed only the service command types; the shape is the same, so v1 records decode unchanged.
    public static let schemaVersion = 2
    public static let olderVersions: Set<Int> = [1]
    public var commandType: String
    public var code: RejectionCode
    public var reason: String
    public init(commandType: String, code: RejectionCode, reason: String) {
        self.commandType = commandType; self.code = code; self.reason = reason
    }
}
