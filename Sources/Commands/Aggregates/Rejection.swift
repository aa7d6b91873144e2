import Events

/// A field that breaks a command's rules; the API answers 422 naming the field.
public struct ValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) { self.field = field; self.message = message }
    public var description: String { "\(field): \(message)" }
}

/// A refused intent: recorded as `CommandRejected`, answered with 404/409/422.
public struct Rejection: Error, Hashable, Sendable {
    public var code: RejectionCode
    public var reason: String
    public init(_ code: RejectionCode, _ reason: String) { self.code = code; self.reason = reason }
}
