import Crypto
import Events
import Foundation

/// What the command processor of one partition needs to resume without folding the whole history: the states of
/// its aggregates, the recent decided command ids, and where in the log (events offset and chain hash, commands
/// offset, checkpoints) they were taken. Stored content-hashed; one that fails its hash, does not decode, or does
/// not match the log at its offset is skipped.
public struct ProcessorSnapshot: Codable, Sendable, Equatable {
    public struct StoredState: Codable, Sendable, Equatable {
        public var key: String
        /// JSON of the state as its kind's decider keeps it.
        public var state: String
    }

    public static let format = 1

    public var format = ProcessorSnapshot.format
    public var partition: Int
    /// One past the last event folded in; the record at `eventsNext - 1` must carry `lastHash`.
    public var eventsNext: Int64
    public var lastHash: String
    public var commandsNext: Int64
    public var lastCheckpoint: Int64
    public var checkpointsNext: Int64
    public var decided: RecentCommandIds
    public var states: [StoredState]
    /// The commands chain up to here: its last offset and head, and the last commands offset this key signed (absent
    /// in snapshots from before commands were chained: the chain is then recomputed from the first command).
    public var commandsOffset: Int64?
    public var commandsHash: String?
    public var commandsLastCheckpoint: Int64?

    public init(partition: Int, eventsNext: Int64, lastHash: String, commandsNext: Int64, lastCheckpoint: Int64, checkpointsNext: Int64,
                decided: RecentCommandIds, states: [StoredState], commandsOffset: Int64? = nil, commandsHash: String? = nil,
                commandsLastCheckpoint: Int64? = nil) {
        self.partition = partition; self.eventsNext = eventsNext; self.lastHash = lastHash; self.commandsNext = commandsNext
        self.lastCheckpoint = lastCheckpoint; self.checkpointsNext = checkpointsNext; self.decided = decided; self.states = states
        self.commandsOffset = commandsOffset; self.commandsHash = commandsHash; self.commandsLastCheckpoint = commandsLastCheckpoint
    }

    /// The bytes stored and their SHA-256 (hex).
    public func encoded() throws -> (body: [UInt8], sha256: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = Array(try encoder.encode(self))
        return (body, HashChain.hex(Array(SHA256.hash(data: body))))
    }

    public struct Unusable: Error, CustomStringConvertible {
        public var description: String
    }

    public static func decode(body: [UInt8], sha256: String) throws -> ProcessorSnapshot {
        guard HashChain.hex(Array(SHA256.hash(data: body))) == sha256 else { throw Unusable(description: "content hash does not match") }
        let snapshot = try JSONDecoder().decode(ProcessorSnapshot.self, from: Data(body))
        guard snapshot.format == format else { throw Unusable(description: "format \(snapshot.format), expected \(format)") }
        return snapshot
    }
}

/// Sorted keys: equal states give equal bytes (and equal snapshots), whatever the dictionaries' order.
private let stateEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return encoder
}()

extension AggregateDecider {
    static func encodeState(erased state: any Sendable) throws -> String {
        guard let typed = state as? State else { throw ProcessorSnapshot.Unusable(description: "a state of the wrong kind") }
        return String(decoding: try stateEncoder.encode(typed), as: UTF8.self)
    }

    static func decodeState(_ json: String) throws -> any Sendable {
        try JSONDecoder().decode(State.self, from: Data(json.utf8))
    }
}

extension AggregateStates {
    /// Every state as JSON, by key (sorted, so equal states give equal snapshots).
    public func stored() throws -> [ProcessorSnapshot.StoredState] {
        try keys.sorted().compactMap { key in
            guard let e = entry(key) else { return nil }
            return ProcessorSnapshot.StoredState(key: key, state: try e.decider.encodeState(erased: e.state))
        }
    }

    public init(restoring stored: [ProcessorSnapshot.StoredState]) throws {
        self.init()
        for s in stored {
            guard let decider = Deciders.forKey(s.key) else {
                throw ProcessorSnapshot.Unusable(description: "no aggregate kind is registered for \"\(s.key)\"")
            }
            set(s.key, Entry(decider: decider, state: try decider.decodeState(s.state)))
        }
    }
}
