import Crypto
import Events
import Foundation

/// Build ids: 20 lowercase hex characters. A manual build gets a random one (or one derived from its Idempotency-Key); a webhook build one derived from the
/// provider, the delivery and the codeflow, so a repeated delivery names the same build (and is answered, not built again).
enum BuildIds {
    static func random() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<10).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    /// A manual build or retry sent with an Idempotency-Key: the same key names the same build, so a repeat is
    /// answered with the first outcome instead of being refused as a different request.
    static func forIdempotencyKey(_ key: String?, actor: String, codeflowOrBuild: String) -> String {
        guard let key else { return random() }
        return String(HashChain.hex(SHA256.hash(data: Array("idempotency\n\(actor)\n\(key)\n\(codeflowOrBuild)".utf8))).prefix(20))
    }

    static func forDelivery(provider: String, delivery: String, codeflow: String) -> String {
        String(HashChain.hex(SHA256.hash(data: Array("\(provider)\n\(delivery)\n\(codeflow)".utf8))).prefix(20))
    }
}
