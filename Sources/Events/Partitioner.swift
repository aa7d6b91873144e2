/// Maps an aggregate key ("service/payments-api") to a partition. The commands and events topics have the
/// same partition count, so an aggregate's commands and events live in partitions with the same number.
/// FNV-1a over the UTF-8 key: stable across processes, platforms and releases (unlike Swift's `Hasher`).
public enum Partitioner {
    public static func partition(for key: String, partitions: Int) -> Int {
        precondition(partitions > 0)
        var hash: UInt32 = 2_166_136_261
        for byte in key.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int(hash % UInt32(partitions))
    }
}
