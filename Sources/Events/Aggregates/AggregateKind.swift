import Foundation

/// A kind of aggregate (services, Nginx clusters, ...) as the wire knows it: the key prefix and the command and
/// event types it owns. The other modules add their part by conforming the same type to their own protocol
/// (`AggregateDecider` in Commands, `ProjectedAggregate` in Projections, `FeatureRoutes` in Server), each in the
/// feature's own folder; generic code finds those parts by asking the registered kind.
public protocol AggregateKind {
    /// Keys of this kind are "<kind>/<id>".
    static var kind: String { get }
    static var commandTypes: [any CommandPayload.Type] { get }
    static var eventTypes: [any EventPayload.Type] { get }
}

/// The one table of aggregate kinds. A feature joins Wharf with one line in `standard`.
public enum Aggregates {
    public static let standard: [any AggregateKind.Type] = [
        ServiceAggregate.self,
        NginxClusterAggregate.self,
        UserAggregate.self,
        BusinessLineAggregate.self,
        TokenAggregate.self,
        AccessAggregate.self,
        CodeflowAggregate.self,
        BuildAggregate.self,
        WebhookAggregate.self,
        ClusterAggregate.self,
    ]

    /// Every registered kind: `standard`, then any registered at run time (tests register their own).
    public static var registered: [any AggregateKind.Type] { state.withLock { $0.kinds } }

    /// The kind that owns `key` ("<kind>/<id>"), if one is registered.
    public static func kind(ofKey key: String) -> (any AggregateKind.Type)? {
        guard let prefix = AggregateKey.kind(of: key) else { return nil }
        return state.withLock { $0.byPrefix[prefix] }
    }

    /// Bumped by every registration, so that other modules can cache what they derive from the table.
    public static var generation: Int { state.withLock { $0.kinds.count } }

    /// The hand-written scanner decoders by wire name (the hot paths of the processor and replays).
    static func scannedCommand(_ type: String) -> (any ScannedCommand.Type)? { state.withLock { $0.scannedCommands[type] } }
    static func scannedEvent(_ type: String) -> (any ScannedEvent.Type)? { state.withLock { $0.scannedEvents[type] } }
    static func commandType(_ type: String) -> (any CommandPayload.Type)? { state.withLock { $0.catalog.commands[type] } }
    static func eventType(_ type: String) -> (any EventPayload.Type)? { state.withLock { $0.catalog.events[type] } }

    /// Adds a kind (idempotent). A kind whose prefix or type names clash with a registered one is refused: a
    /// command must never reach another kind's decider, and a type name must decode to one payload type.
    public static func register(_ kind: any AggregateKind.Type) throws {
        try state.withLock { s in
            if let existing = s.byPrefix[kind.kind] {
                if existing == kind { return }
                throw RegistrationConflict(description: "aggregate kind \"\(kind.kind)\" is registered already")
            }
            try s.add(kind)
        }
    }

    /// Wire names of every registered command and event type.
    public static var commandTypeNames: Set<String> { Set(catalog.commands.keys) }
    public static var eventTypeNames: Set<String> { Set(catalog.events.keys) }

    /// Payload types by wire name, across all registered kinds, plus the system's own events.
    static var catalog: Catalog { state.withLock { $0.catalog } }

    public struct RegistrationConflict: Error, CustomStringConvertible {
        public var description: String
    }

    struct Catalog {
        var commands: [String: any CommandPayload.Type] = [:]
        var events: [String: any EventPayload.Type] = [CommandRejected.type: CommandRejected.self, CommandUnchanged.type: CommandUnchanged.self]
    }

    struct State {
        var kinds: [any AggregateKind.Type] = []
        var byPrefix: [String: any AggregateKind.Type] = [:]
        var catalog = Catalog()
        var scannedCommands: [String: any ScannedCommand.Type] = [:]
        var scannedEvents: [String: any ScannedEvent.Type] = [CommandRejected.type: CommandRejected.self, CommandUnchanged.type: CommandUnchanged.self]

        mutating func add(_ kind: any AggregateKind.Type) throws {
            for c in kind.commandTypes where catalog.commands[c.type] != nil {
                throw RegistrationConflict(description: "command type \(c.type) of \"\(kind.kind)\" is registered already")
            }
            for e in kind.eventTypes where catalog.events[e.type] != nil {
                throw RegistrationConflict(description: "event type \(e.type) of \"\(kind.kind)\" is registered already")
            }
            kinds.append(kind)
            byPrefix[kind.kind] = kind
            for c in kind.commandTypes {
                catalog.commands[c.type] = c
                if let scanned = c as? any ScannedCommand.Type { scannedCommands[c.type] = scanned }
            }
            for e in kind.eventTypes {
                catalog.events[e.type] = e
                if let scanned = e as? any ScannedEvent.Type { scannedEvents[e.type] = scanned }
            }
        }
    }

    private static let state: Mutex<State> = {
        var s = State()
        for kind in standard {
            do { try s.add(kind) } catch { preconditionFailure("the standard aggregate table is inconsistent: \(error)") }
        }
        return Mutex(s)
    }()
}

/// A lock around a value (Synchronization.Mutex needs newer platforms than the package declares).
final class Mutex<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(&value)
    }
}
