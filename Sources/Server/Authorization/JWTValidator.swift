import Commands
import Crypto
import CryptoExtras
import Events
import Foundation

/// Validates JWT bearer tokens from a company's identity provider (SSO): signature by a key of its JWKS (ES256 or
/// RS256; "none" and shared-secret algorithms are refused), issuer, audience, expiry and not-before (60 s leeway),
/// and the claim that names the user. Keys come from a JWKS document; when a token names a key it does not know, the
/// document is loaded again (at most once a minute), so the provider can rotate keys.
public final class JWTValidator: @unchecked Sendable {
    public struct Identity: Sendable, Hashable {
        public var user: String
        public var displayName: String?
        public var email: String?
        public var expires: Date
    }

    public struct Invalid: Error, CustomStringConvertible { public var description: String }

    enum Key {
        case es256(P256.Signing.PublicKey)
        case rs256(_RSA.Signing.PublicKey)
    }

    let issuer: String
    let audience: String
    let userClaim: String
    private let reload: (@Sendable () async throws -> Data)?
    private let lock = NSLock()
    private var keys: [String: Key] = [:]
    private var loadedAt = ContinuousClock.now
    static let leeway: TimeInterval = 60

    /// `jwks`: the JWKS document; `reload` fetches it again (nil for a file read once).
    public init(issuer: String, audience: String, userClaim: String, jwks: Data, reload: (@Sendable () async throws -> Data)? = nil) throws {
        self.issuer = issuer; self.audience = audience; self.userClaim = userClaim; self.reload = reload
        keys = try Self.parse(jwks)
    }

    static func parse(_ document: Data) throws -> [String: Key] {
        guard let object = try? JSONSerialization.jsonObject(with: document) as? [String: Any], let list = object["keys"] as? [[String: Any]] else {
            throw Invalid(description: "the JWKS is not a JSON object with \"keys\"")
        }
        var out: [String: Key] = [:]
        for (i, jwk) in list.enumerated() {
            let kid = jwk["kid"] as? String ?? "#\(i)"
            switch (jwk["kty"] as? String, jwk["crv"] as? String) {
            case ("EC", "P-256"):
                guard let x = (jwk["x"] as? String).flatMap(base64URL), let y = (jwk["y"] as? String).flatMap(base64URL),
                      let key = try? P256.Signing.PublicKey(rawRepresentation: x + y) else { throw Invalid(description: "JWKS key \(kid): not a P-256 key") }
                out[kid] = .es256(key)
            case ("RSA", _):
                guard let n = (jwk["n"] as? String).flatMap(base64URL), let e = (jwk["e"] as? String).flatMap(base64URL),
                      let key = try? _RSA.Signing.PublicKey(n: n, e: e) else { throw Invalid(description: "JWKS key \(kid): not an RSA key of 2048 bits or more") }
                out[kid] = .rs256(key)
            default:
                continue  // other key types (encryption keys, Ed25519 ...) are not used for ID tokens here
            }
        }
        guard !out.isEmpty else { throw Invalid(description: "the JWKS holds no P-256 or RSA signing key") }
        return out
    }

    /// The user a token speaks for, or why it is refused.
    public func validate(_ token: String, now: Date = Date()) async throws -> Identity {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = base64URL(String(parts[0])), let payloadData = base64URL(String(parts[1])),
              let signature = base64URL(String(parts[2])),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
              let claims = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any] else {
            throw Invalid(description: "not a JWT")
        }
        guard let alg = header["alg"] as? String, alg == "ES256" || alg == "RS256" else {
            throw Invalid(description: "JWT algorithm \(header["alg"].map { "\($0)" } ?? "missing") is not accepted (ES256 or RS256)")
        }
        let key = try await key(named: header["kid"] as? String, alg: alg)
        let input = Data(parts[0].utf8) + Data(".".utf8) + Data(parts[1].utf8)
        let valid: Bool
        switch key {
        case .es256(let k): valid = (try? P256.Signing.ECDSASignature(rawRepresentation: signature)).map { k.isValidSignature($0, for: input) } ?? false
        case .rs256(let k): valid = k.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: input, padding: .insecurePKCS1v1_5)
        }
        guard valid else { throw Invalid(description: "JWT signature does not verify") }
        guard claims["iss"] as? String == issuer else { throw Invalid(description: "JWT issuer is not \(issuer)") }
        let audiences = (claims["aud"] as? [String]) ?? [(claims["aud"] as? String)].compactMap { $0 }
        guard audiences.contains(audience) else { throw Invalid(description: "JWT audience does not include \(audience)") }
        guard let exp = (claims["exp"] as? NSNumber)?.doubleValue else { throw Invalid(description: "JWT has no exp") }
        let expires = Date(timeIntervalSince1970: exp)
        guard expires.timeIntervalSince(now) > -Self.leeway else { throw Invalid(description: "JWT expired at \(WharfTime.format(expires))") }
        if let nbf = (claims["nbf"] as? NSNumber)?.doubleValue, Date(timeIntervalSince1970: nbf).timeIntervalSince(now) > Self.leeway {
            throw Invalid(description: "JWT is not valid yet")
        }
        guard let user = claims[userClaim] as? String, ServiceValidation.isDNSLabel(user) else {
            throw Invalid(description: "JWT claim \(userClaim) must name the user as a DNS-1123 label")
        }
        return Identity(user: user, displayName: claims["name"] as? String, email: claims["email"] as? String, expires: expires)
    }

    private func key(named kid: String?, alg: String) async throws -> Key {
        func find() -> Key? {
            lock.withLock {
                if let kid { return keys[kid] }
                // No kid: only unambiguous with one key of the algorithm's type.
                let matching = keys.values.filter { if case .es256 = $0 { alg == "ES256" } else { alg == "RS256" } }
                return matching.count == 1 ? matching[0] : nil
            }
        }
        if let key = find() {
            guard Self.matches(key, alg) else { throw Invalid(description: "JWT key \(kid ?? "") is not an \(alg) key") }
            return key
        }
        // Perhaps the provider rotated its keys: load the document again, at most once a minute.
        if let reload, lock.withLock({ ContinuousClock.now - loadedAt > .seconds(60) }) {
            let fresh = try Self.parse(try await reload())
            lock.withLock { keys = fresh; loadedAt = .now }
            if let key = find(), Self.matches(key, alg) { return key }
        }
        throw Invalid(description: "JWT names key \(kid ?? "(none)"), which the JWKS does not hold")
    }

    private static func matches(_ key: Key, _ alg: String) -> Bool {
        switch key {
        case .es256: alg == "ES256"
        case .rs256: alg == "RS256"
        }
    }
}

/// base64url without padding, as JWTs use it.
func base64URL(_ text: String) -> Data? {
    var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while s.count % 4 != 0 { s += "=" }
    return Data(base64Encoded: s)
}
