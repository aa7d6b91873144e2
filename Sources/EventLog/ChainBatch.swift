import Events
import PostgresNIO  // for NIO's ByteBuffer, which it re-exports

/// Records of one partition packed for the chain verifier, which reads every record of the log: a few buffers per
/// batch instead of five strings per record. Each record is laid out as
///
///     offset:int64 keyLength:int32 key  valueLength:int32 prevLength:int32 hashLength:int32 hash prev value
///
/// (big-endian integers; a missing hash has length 0), so the stored previous hash and the value sit side by side:
/// once the previous hash is known to be the recomputed one, the record's hash input is one contiguous slice.
/// A batch may come in several parts (a store packs small pieces so that no buffer grows large); they are put in
/// order of their first offset. The layout is checked once, when the batch is made; a malformed buffer is an
/// error, never a crash.
public struct ChainBatch: Sendable {
    public struct Record {
        public let offset: Int64
        public let key: UnsafeRawBufferPointer
        public let value: UnsafeRawBufferPointer
        /// Empty where the store holds none.
        public let prevHash: UnsafeRawBufferPointer
        public let hash: UnsafeRawBufferPointer
        /// `prevHash` followed by `value`: the bytes hashed into the chain when `prevHash` is the real previous hash.
        public let prevAndValue: UnsafeRawBufferPointer
    }

    public struct Malformed: Error, CustomStringConvertible {
        public let at: Int
        public var description: String { "a packed chain batch is malformed at byte \(at)" }
    }

    private struct Part {
        var bytes: ByteBuffer
        var starts: [Int]
        var firstOffset: Int64
        var lastOffset: Int64
    }

    private let parts: [Part]
    public let count: Int
    public var lastOffset: Int64? { parts.last?.lastOffset }
    public var isEmpty: Bool { count == 0 }

    public init(packed pieces: [ByteBuffer]) throws {
        var parts: [Part] = []
        for bytes in pieces {
            var starts: [Int] = []
            var first: Int64?, last: Int64 = -1
            try bytes.withUnsafeReadableBytes { raw in
                var at = 0
                func int(_ width: Int) throws -> Int64 {
                    guard at + width <= raw.count else { throw Malformed(at: at) }
                    var value: Int64 = width == 8 ? 0 : (raw[at] & 0x80 != 0 ? -1 : 0)
                    for i in 0..<width { value = value << 8 | Int64(raw[at + i]) }
                    at += width
                    return value
                }
                func skip(_ length: Int64) throws {
                    guard length >= 0, at + Int(length) <= raw.count else { throw Malformed(at: at) }
                    at += Int(length)
                }
                while at < raw.count {
                    let start = at
                    last = try int(8)
                    if first == nil { first = last }
                    try skip(try int(4))
                    let valueLength = try int(4), prevLength = try int(4), hashLength = try int(4)
                    try skip(hashLength); try skip(prevLength); try skip(valueLength)
                    starts.append(start)
                }
            }
            if let first { parts.append(Part(bytes: bytes, starts: starts, firstOffset: first, lastOffset: last)) }
        }
        parts.sort { $0.firstOffset < $1.firstOffset }
        self.parts = parts
        self.count = parts.reduce(0) { $0 + $1.starts.count }
    }

    /// Packs records read through the log contract (stores without a packed read of their own, e.g. Kafka).
    public init(records: [LogRecord]) throws {
        var out: [UInt8] = []
        func int(_ value: Int64, _ width: Int) { for i in (0..<width).reversed() { out.append(UInt8(truncatingIfNeeded: value >> (8 * i))) } }
        for record in records {
            let prev = record.prevHash.map(HashChain.hexBytes) ?? [], hash = record.hash.map(HashChain.hexBytes) ?? []
            int(record.offset, 8)
            int(Int64(record.key.utf8.count), 4); out.append(contentsOf: record.key.utf8)
            int(Int64(record.value.utf8.count), 4); int(Int64(prev.count), 4); int(Int64(hash.count), 4)
            out.append(contentsOf: hash); out.append(contentsOf: prev); out.append(contentsOf: record.value.utf8)
        }
        try self.init(packed: [ByteBuffer(bytes: out)])
    }

    /// The newest record's value as text (for its time).
    public var lastRecordValue: String? {
        guard let part = parts.last, let last = part.starts.last else { return nil }
        return part.bytes.withUnsafeReadableBytes { String(decoding: Self.record(at: last, in: $0).value, as: UTF8.self) }
    }

    /// Calls `body` with each record in order until it returns false. The buffers live only during the call.
    public func forEach(_ body: (Record) throws -> Bool) rethrows {
        for part in parts {
            let go = try part.bytes.withUnsafeReadableBytes { raw in
                for start in part.starts where try !body(Self.record(at: start, in: raw)) { return false }
                return true
            }
            if !go { return }
        }
    }

    /// The record at `start`, whose layout `init(packed:)` checked.
    private static func record(at start: Int, in raw: UnsafeRawBufferPointer) -> Record {
        func int(_ at: Int, _ width: Int) -> Int {
            var value = 0
            for i in 0..<width { value = value << 8 | Int(raw[at + i]) }
            return value
        }
        let offset = Int64(int(start, 8))
        let keyLength = int(start + 8, 4)
        let keyAt = start + 12
        let lengths = keyAt + keyLength
        let valueLength = int(lengths, 4), prevLength = int(lengths + 4, 4), hashLength = int(lengths + 8, 4)
        let hashAt = lengths + 12, prevAt = hashAt + hashLength, valueAt = prevAt + prevLength
        return Record(offset: offset,
                      key: UnsafeRawBufferPointer(rebasing: raw[keyAt..<keyAt + keyLength]),
                      value: UnsafeRawBufferPointer(rebasing: raw[valueAt..<valueAt + valueLength]),
                      prevHash: UnsafeRawBufferPointer(rebasing: raw[prevAt..<prevAt + prevLength]),
                      hash: UnsafeRawBufferPointer(rebasing: raw[hashAt..<hashAt + hashLength]),
                      prevAndValue: UnsafeRawBufferPointer(rebasing: raw[prevAt..<valueAt + valueLength]))
    }
}
