import AsyncHTTPClient
import Foundation
import Server

/// Loads the identity provider's JWKS for SSO: a file, or an http(s) URL (fetched again when a token names a key
/// the validator does not hold, at most once a minute).
enum JWKSLoader {
    struct Failed: Error, CustomStringConvertible { var description: String }

    static func validator(_ settings: WharfSettings.SSOSettings) async throws -> JWTValidator {
        let source = settings.jwks
        let load: @Sendable () async throws -> Data
        if source.hasPrefix("https://") || source.hasPrefix("http://") {
            load = {
                var request = HTTPClientRequest(url: source)
                request.method = .GET
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                guard response.status == .ok else { throw Failed(description: "WHARF_JWT_JWKS \(source) answered \(response.status.code)") }
                return Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
            }
        } else {
            load = {
                guard let data = FileManager.default.contents(atPath: source) else { throw Failed(description: "WHARF_JWT_JWKS: cannot read \(source)") }
                return data
            }
        }
        do {
            return try JWTValidator(issuer: settings.issuer, audience: settings.audience, userClaim: settings.userClaim, jwks: try await load(),
                                    reload: load)
        } catch let invalid as JWTValidator.Invalid {
            throw Failed(description: "WHARF_JWT_JWKS \(source): \(invalid)")
        }
    }
}
