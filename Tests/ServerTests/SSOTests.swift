import Crypto
import CryptoExtras
import Foundation
import Server
import Testing
import TestSupport

/// SSO with tokens this test signs itself (ES256 and RS256 keys in a JWKS): a valid token's user is provisioned on
/// first use with no roles, through the log; forged, expired, foreign or unsigned tokens are refused with 401.
@Suite struct SSOTests {
    static let ec = P256.Signing.PrivateKey()
    static let rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    static func b64(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
    static func b64(_ object: [String: Any]) -> String { b64(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) }

    static func jwks() throws -> Data {
        let raw = ec.publicKey.rawRepresentation
        let p = try rsa.publicKey.getKeyPrimitives()
        return try JSONSerialization.data(withJSONObject: ["keys": [
            ["kty": "EC", "crv": "P-256", "kid": "ec1", "x": b64(raw.prefix(32)), "y": b64(raw.suffix(32))],
            ["kty": "RSA", "kid": "rsa1", "n": b64(p.modulus), "e": b64(p.publicExponent)],
        ]])
    }

    static func token(alg: String = "ES256", kid: String = "ec1", _ claims: [String: Any]) throws -> String {
        let input = b64(["alg": alg, "kid": kid, "typ": "JWT"]) + "." + b64(claims)
        let signature: Data
        switch alg {
        case "ES256": signature = try ec.signature(for: Data(input.utf8)).rawRepresentation
        case "RS256": signature = try rsa.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5).rawRepresentation
        default: signature = Data()
        }
        return input + "." + b64(signature)
    }

    static func claims(_ user: String, iss: String = "https://idp.example.com", aud: Any = "wharf", exp: TimeInterval = 300) -> [String: Any] {
        ["iss": iss, "aud": aud, "exp": Date().addingTimeInterval(exp).timeIntervalSince1970, "preferred_username": user,
         "name": "Carol Example", "email": "\(user)@example.com"]
    }

    @Test func validTokensProvisionTheUserAndForgedOnesAreRefused() async throws {
        let validator = try JWTValidator(issuer: "https://idp.example.com", audience: "wharf", userClaim: "preferred_username", jwks: try Self.jwks())
        try await ServerHarness.with(sso: validator) { harness, client in
            let carol = try Self.token(Self.claims("carol"))
            let who = try await client.call(.get, "/v1/whoami", token: carol)
            #expect(who.status == 200 && who.json["actor"] as? String == "user:carol" && (who.json["platformRoles"] as? [String]) == [], "\(who.text)")
            // Provisioned through the log by system:sso, with no roles: a write in any line is refused.
            let deadline = ContinuousClock.now + .seconds(10)
            var users = ""
            while ContinuousClock.now < deadline {
                users = try await client.call(.get, "/v1/users").text
                if users.contains("carol@example.com") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(users.contains("\"carol\"") && users.contains("Carol Example"), "\(users)")
            let audit = try await client.call(.get, "/v1/audit?aggregate=user/carol").json["items"] as? [[String: Any]] ?? []
            #expect(audit.first?["actor"] as? String == "system:sso" && audit.first?["commandType"] as? String == "CreateUser")
            let create = try await client.call(.post, "/v1/services", json: #"{"name": "c-api", "businessLine": "pay", "image": "r.example.com/c:1", "replicas": 1}"#,
                                               token: carol)
            #expect(create.status == 403, "\(create.text)")
            let rs = try await client.call(.get, "/v1/whoami", token: try Self.token(alg: "RS256", kid: "rsa1", Self.claims("dave", aud: ["other", "wharf"])))
            #expect(rs.status == 200 && rs.json["actor"] as? String == "user:dave", "\(rs.text)")

            var tampered = carol.split(separator: ".").map(String.init)
            tampered[1] = Self.b64(Self.claims("admin"))
            let refused: [(String, String)] = [
                ("another issuer", try Self.token(Self.claims("erin", iss: "https://evil.example.com"))),
                ("another audience", try Self.token(Self.claims("erin", aud: "other"))),
                ("expired", try Self.token(Self.claims("erin", exp: -3600))),
                ("alg none", Self.b64(["alg": "none", "typ": "JWT"]) + "." + Self.b64(Self.claims("erin")) + "."),
                ("HS256", try Self.token(alg: "HS256", Self.claims("erin"))),
                ("unknown key", try Self.token(kid: "nope", Self.claims("erin"))),
                ("EC key named for RS256", try Self.token(alg: "RS256", kid: "ec1", Self.claims("erin"))),
                ("payload swapped", tampered.joined(separator: ".")),
                ("user not a DNS label", try Self.token(Self.claims("Erin Smith"))),
            ]
            for (what, token) in refused {
                let r = try await client.call(.get, "/v1/whoami", token: token)
                #expect(r.status == 401, "\(what): \(r.status) \(r.text)")
            }
            #expect(!(try await client.call(.get, "/v1/users").text.contains("erin")), "no refused token provisioned a user")
            _ = harness
        }
    }
}
