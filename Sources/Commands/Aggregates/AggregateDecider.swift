import Events
import Foundation

/// The decision part of an aggregate kind: its state, field rules, decide and evolve. A feature conforms its
/// `AggregateKind` to this in its own folder; the processor finds it through the registered kind.
/// Pure throughout: no clock, no I/O, no randomness (time, ids and the actor come on the envelope).
public protocol AggregateDecider: AggregateKind {
    associatedtype State: Codable, Sendable
    /// Field rules: the API runs them at the door (bad input appends nothing), `decide` again.
    static func validate(_ command: Command) -> [ValidationError]
    static func decide(_ command: Command, state: State?) -> Result<[Event], Rejection>
    /// Folds one event of this kind's aggregate into its state.
    static func evolve(_ state: State?, _ envelope: EventEnvelope) -> State?
    /// The business line a command acts in, as the log knows it (a create's own field, otherwise the state's);
    /// nil for kinds that do not belong to lines. The processor compares it with the line the API authorized.
    static func businessLine(of command: Command, state: State?) -> String?
}

extension AggregateDecider {
    public static func businessLine(of command: Command, state: State?) -> String? { nil }

    static func businessLine(of command: Command, erased state: (any Sendable)?) -> String? {
        businessLine(of: command, state: state as? State)
    }

    // Type-erased entry points for generic code that holds states of many kinds.
    static func decide(_ command: Command, erased state: (any Sendable)?) -> Result<[Event], Rejection> {
        decide(command, state: state as? State)
    }

    static func evolve(erased state: (any Sendable)?, _ envelope: EventEnvelope) -> (any Sendable)? {
        evolve(state as? State, envelope)
    }
}

/// The registered deciders by key prefix, derived from the aggregate table (and derived again when it grows).
public enum Deciders {
    /// The decider of the kind that owns `key`; nil for an unregistered kind or one without a decider.
    public static func forKey(_ key: String) -> (any AggregateDecider.Type)? {
        guard let prefix = AggregateKey.kind(of: key) else { return nil }
        let generation = Aggregates.generation
        return cache.withLock { c in
            if c.generation != generation {
                c.byPrefix = [:]
                for kind in Aggregates.registered {
                    if let decider = kind as? any AggregateDecider.Type { c.byPrefix[kind.kind] = decider }
                }
                c.generation = generation
            }
            return c.byPrefix[prefix]
        }
    }

    private static let cache = DeciderCache()
}

/// Deciders by prefix for one generation of the aggregate table.
private final class DeciderCache: @unchecked Sendable {
    struct Table { var generation = -1; var byPrefix: [String: any AggregateDecider.Type] = [:] }
    private let lock = NSLock()
    private var table = Table()
    func withLock<R>(_ body: (inout Table) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&table) }
}
