import Crypto
import Foundation

/// The per-partition tamper-evidence chain: `hash = SHA-256(prevHash || canonical record bytes)`.
/// The first record of a partition chains from 32 zero bytes. Offsets are not hashed (Kafka spends
/// offsets on transaction markers); order is protected by each record naming its predecessor.
public enum HashChain {
    public static let genesis = String(repeating: "0", count: 64)

    public static func next(previous: String, value: String) -> String {
        var hasher = SHA256()
        hasher.update(data: hexBytes(previous))
        var value = value
        value.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return hex(hasher.finalize())
    }

    /// `next` on raw bytes: for walkers of long chains, which keep the previous hash as bytes.
    public static func nextBytes(previous: [UInt8], value: String) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        var value = value
        value.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return Array(hasher.finalize())
    }

    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let bytes = Array(bytes)
        return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            let digits: StaticString = "0123456789abcdef"
            for (i, byte) in bytes.enumerated() {
                out[2 * i] = digits.utf8Start[Int(byte >> 4)]
                out[2 * i + 1] = digits.utf8Start[Int(byte & 0x0f)]
            }
            return bytes.count * 2
        }
    }

    /// Decodes lowercase or uppercase hex; invalid input yields an empty array (which never matches a hash).
    public static func hexBytes(_ text: String) -> [UInt8] {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return [] }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return [] }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
