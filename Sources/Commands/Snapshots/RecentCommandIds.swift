import Crypto
import Foundation

/// The ids of the most recent decided commands of a partition, bounded: memory does not grow with history.
/// A repeat of a command id arrives soon after the original (an `Idempotency-Key` retry whose first attempt was
/// logged but not acknowledged, a worker's redelivery); keyed repeats of logged attempts are answered by the
/// gateway from its idempotency table without reaching the log. Ids are kept as 128-bit digests.
public struct RecentCommandIds: Sendable, Codable, Equatable {
    public static let defaultCapacity = 200_000

    struct Digest: Hashable, Sendable, Codable { var a: UInt64; var b: UInt64 }

    let capacity: Int
    private var members: Set<Digest> = []
    private var order: [Digest] = []
    private var head = 0

    public init(capacity: Int = RecentCommandIds.defaultCapacity) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public var count: Int { members.count }
    /// Full: older ids may have left it, so an id not in it may still have been decided (ask the audit).
    public var isFull: Bool { order.count >= capacity }

    public func contains(_ id: String) -> Bool { members.contains(Self.digest(id)) }

    /// Adds `id`; false if it was there already. The oldest id leaves when the window is full.
    @discardableResult
    public mutating func insert(_ id: String) -> Bool {
        let d = Self.digest(id)
        guard members.insert(d).inserted else { return false }
        if order.count < capacity {
            order.append(d)
        } else {
            members.remove(order[head])
            order[head] = d
            head = (head + 1) % capacity
        }
        return true
    }

    static func digest(_ id: String) -> Digest {
        let bytes = Array(SHA256.hash(data: Array(id.utf8)))
        var a: UInt64 = 0, b: UInt64 = 0
        for i in 0..<8 { a = a << 8 | UInt64(bytes[i]); b = b << 8 | UInt64(bytes[8 + i]) }
        return Digest(a: a, b: b)
    }

    /// Oldest first, so that a restored window evicts in the same order.
    enum CodingKeys: String, CodingKey { case capacity, ids }

    /// The digests travel as one base64 string (16 bytes each, oldest first): a window of 200,000 ids is 4 MB of
    /// text that decodes in milliseconds, where an array of JSON objects took most of a takeover.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(capacity: try c.decode(Int.self, forKey: .capacity))
        guard let bytes = Data(base64Encoded: try c.decode(String.self, forKey: .ids)), bytes.count % 16 == 0, bytes.count / 16 <= capacity else {
            throw DecodingError.dataCorruptedError(forKey: .ids, in: c, debugDescription: "not a window of 16-byte digests within the capacity")
        }
        order.reserveCapacity(bytes.count / 16)
        bytes.withUnsafeBytes { raw in
            for i in 0..<(raw.count / 16) {
                let d = Digest(a: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self)),
                               b: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self)))
                if members.insert(d).inserted { order.append(d) }
            }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(capacity, forKey: .capacity)
        var bytes = Data(capacity: order.count * 16)
        for d in order[head...] + order[..<head] {
            withUnsafeBytes(of: d.a.bigEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: d.b.bigEndian) { bytes.append(contentsOf: $0) }
        }
        try c.encode(bytes.base64EncodedString(), forKey: .ids)
    }

    public static func == (a: RecentCommandIds, b: RecentCommandIds) -> Bool {
        a.capacity == b.capacity && Array(a.order[a.head...] + a.order[..<a.head]) == Array(b.order[b.head...] + b.order[..<b.head])
    }
}
