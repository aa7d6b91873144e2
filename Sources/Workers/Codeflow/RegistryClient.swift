import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The registry's API v2, as far as builds need it: the digest a tag points at (base images are pinned by digest;
/// a preprocess layer is reused when its tag exists). Basic credentials, and the bearer-token dance Harbor and
/// Docker Hub ask for.
struct RegistryClient: Sendable {
    let settings: BuildSettings
    let http: HTTPClient

    /// "host[:port]/path" and a tag or digest, from an image reference that names its registry.
    struct Reference: Hashable, Sendable {
        var host: String
        var repository: String
        var reference: String

        init?(_ image: String) {
            var rest = Substring(image)
            var ref = "latest"
            if let at = rest.firstIndex(of: "@") {
                ref = String(rest[rest.index(after: at)...]); rest = rest[..<at]
            } else if let colon = rest.lastIndex(of: ":"), let slash = rest.lastIndex(of: "/"), colon > slash {
                ref = String(rest[rest.index(after: colon)...]); rest = rest[..<colon]
            }
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            let host = rest[..<slash]
            guard host.contains(".") || host.contains(":") || host == "localhost" else { return nil }
            self.host = String(host); repository = String(rest[rest.index(after: slash)...]); reference = ref
        }

        /// The repository pinned to `digest`.
        func pinned(_ digest: String) -> String { "\(host)/\(repository)@\(digest)" }
    }

    static let accept = [
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    ].joined(separator: ", ")

    /// The digest of the manifest `image` names; nil when the registry has no such manifest.
    func digest(of image: String) async throws -> String? {
        guard let r = Reference(image) else { throw BuildFailure("\(image) does not name a registry (write host[:port]/path:tag)") }
        let scheme = r.host == settings.registry && settings.registryInsecure || BuildSettings.isLoopback(r.host) ? "http" : "https"
        let url = "\(scheme)://\(r.host)/v2/\(r.repository)/manifests/\(r.reference)"
        var response = try await head(url, authorization: basicAuthorization(for: r.host))
        if response.status == .unauthorized, let challenge = response.headers.first(name: "WWW-Authenticate"), challenge.lowercased().hasPrefix("bearer ") {
            let token = try await bearerToken(challenge: challenge, repository: r.repository, host: r.host)
            response = try await head(url, authorization: "Bearer \(token)")
        }
        switch response.status {
        case .ok:
            guard let digest = response.headers.first(name: "Docker-Content-Digest") else {
                throw BuildFailure("registry \(r.host) answered without Docker-Content-Digest for \(image)")
            }
            return digest
        case .notFound: return nil
        default: throw BuildFailure("registry \(r.host) answered \(response.status.code) for \(image)")
        }
    }

    private func basicAuthorization(for host: String) -> String? {
        guard host == settings.registry, let user = settings.registryUser, let password = settings.registryPassword else { return nil }
        return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    private func head(_ url: String, authorization: String?) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .HEAD
        request.headers.add(name: "Accept", value: Self.accept)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        return try await http.execute(request, timeout: .seconds(30))
    }

    /// Bearer realm="...",service="...": a pull token for the repository, with the basic credentials when we have them.
    private func bearerToken(challenge: String, repository: String, host: String) async throws -> String {
        var fields: [String: String] = [:]
        for part in challenge.dropFirst("bearer ".count).split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[kv[0].trimmingCharacters(in: .whitespaces).lowercased()] = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) }
        }
        guard let realm = fields["realm"], var components = URLComponents(string: realm) else { throw BuildFailure("registry \(host) sent a bearer challenge without a realm") }
        var items = components.queryItems ?? []
        if let service = fields["service"] { items.append(URLQueryItem(name: "service", value: service)) }
        items.append(URLQueryItem(name: "scope", value: "repository:\(repository):pull"))
        components.queryItems = items
        guard let url = components.string else { throw BuildFailure("registry \(host) sent a bad token realm") }
        var request = HTTPClientRequest(url: url)
        if let auth = basicAuthorization(for: host) { request.headers.add(name: "Authorization", value: auth) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok, let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
              let token = (object["token"] ?? object["access_token"]) as? String else {
            throw BuildFailure("registry \(host) refused a pull token (\(response.status.code))")
        }
        return token
    }
}
