import Crypto

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

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(capacity: try c.decode(Int.self, forKey: .capacity))
        for d in try c.decode([Digest].self, forKey: .ids) where members.insert(d).inserted { order.append(d) }
        guard order.count <= capacity else { throw DecodingError.dataCorruptedError(forKey: .ids, in: c, debugDescription: "more ids than the capacity") }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(capacity, forKey: .capacity)
        try c.encode(Array(order[head...] + order[..<head]), forKey: .ids)
    }

    public static func == (a: RecentCommandIds, b: RecentCommandIds) -> Bool {
        a.capacity == b.capacity && Array(a.order[a.head...] + a.order[..<a.head]) == Array(b.order[b.head...] + b.order[..<b.head])
    }
}
