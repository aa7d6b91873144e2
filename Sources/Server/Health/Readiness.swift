import Foundation

/// Whether this node is ready to serve: /healthz answers 503 "starting" with the reason until it is (the first
/// admin being created through the log, for instance).
public final class Readiness: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [String: String] = [:]

    public init() {}

    public func pend(_ key: String, _ reason: String) { lock.withLock { pending[key] = reason } }
    public func done(_ key: String) { lock.withLock { pending[key] = nil } }
    /// What the node still waits for, if anything.
    public var waitingFor: String? { lock.withLock { pending.values.sorted().first } }
}
