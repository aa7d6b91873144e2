/// A record's place in a topic: partition and offset. Written as "partition:offset" (e.g. "3:1527")
/// in API responses and accepted back in `?after=`.
public struct LogPosition: Codable, Hashable, Sendable, CustomStringConvertible, Comparable {
    public var partition: Int
    public var offset: Int64

    public init(partition: Int, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let p = Int(parts[0]), let o = Int64(parts[1]), p >= 0, o >= 0 else { return nil }
        self.init(partition: p, offset: o)
    }

    public var description: String { "\(partition):\(offset)" }

    public static func < (a: LogPosition, b: LogPosition) -> Bool {
        (a.partition, a.offset) < (b.partition, b.offset)
    }
}
