/// Maps an aggregate key ("service/payments-api") to a partition. The commands and events topics have the
/// same partition count, so an aggregate's commands and events live in partitions with the same number.
/// FNV-1a over the UTF-8 key: stable across processes, platforms and releases (unlike Swift's `Hasher`).
public enum Partitioner {
    public static func partition(for key: String, partitions: Int) -> Int {
        precondition(partitions > 0)
        return Int(fnv1a(key) % UInt32(partitions))
    }

    /// 32-bit FNV-1a of the UTF-8 bytes; also the stable part of Wharf's advisory lock keys.
    public static func fnv1a(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }
}
