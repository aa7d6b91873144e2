import Crypto
import Commands
import EventLog
import Events
import Foundation
import Logging
import NIOHTTP1
import Workers

/// The loop of `wharf nginx-agent`: pulls its node's desired version, applies it, reports the outcome, and reports a
/// live file that differs from what it applied (drift). It remembers what it applied in `wharf-agent.json` in the
/// prefix, so a restart neither re-applies nor misses a hand edit made while it was away.
struct NginxAgent {
    let client: APIClient
    let cluster: String
    let node: String
    let applier: NginxNodeApplier
    let logger: Logger
    /// The installation's public key: when pinned, only versions it signed are applied (see `verified`).
    let trustedKey: Curve25519.Signing.PublicKey?

    struct Memory: Codable, Equatable {
        var version: Int
        var sha256: String
        /// The live hash last reported as drift, so each hand edit is reported once.
        var driftReported: String?
        /// A version that failed here; not retried until the desired version changes.
        var failedVersion: Int?
    }

    var memoryPath: String { applier.prefix + "/wharf-agent.json" }
    var base: String { "/v1/nginx/agent/clusters/\(cluster)/nodes/\(node)" }

    func loadMemory() -> Memory? {
        guard let data = FileManager.default.contents(atPath: memoryPath) else { return nil }
        return try? JSONDecoder().decode(Memory.self, from: data)
    }

    /// Written exclusively (O_EXCL|O_NOFOLLOW, 0600) and renamed, as the applier writes nginx.conf: a symlink
    /// planted at the temp path is removed, never written through.
    func save(_ memory: Memory) throws {
        try PrivateFile.replace(memoryPath, with: try JSONEncoder().encode(memory), temp: memoryPath + ".tmp")
    }

    static func sha256(_ data: Data) -> String { HashChain.hex(SHA256.hash(data: data)) }

    /// One round: drift check, then apply when the desired version is new. Returns what it did, for the log.
    func tick() async throws -> String? {
        var memory = loadMemory()
        let live = applier.live()
        let liveSha = live.map(Self.sha256)
        if var m = memory, let liveSha, liveSha != m.sha256, m.driftReported != liveSha {
            try await report(version: m.version, outcome: "drift",
                             message: "nginx.conf differs from version \(m.version) as applied (sha256 \(m.sha256.prefix(12))…, live \(liveSha.prefix(12))…)",
                             liveSha256: liveSha)
            m.driftReported = liveSha
            try save(m)
            memory = m
            logger.warning("drift: nginx.conf was changed outside Wharf (version \(m.version) applied)")
        }
        let response = try await client.send(.GET, base + "/desired")
        if response.status == 404 { return nil }  // no version has passed nginx -t yet
        guard response.status == 200, let desired = response.json as? [String: Any], let version = desired["version"] as? Int,
              let served = desired["text"] as? String else {
            throw APIFailure(status: response.status, reason: String(decoding: response.body.prefix(500), as: UTF8.self))
        }
        if let m = memory, m.version == version { return nil }
        // Versions only grow (a rollback publishes a new number): an older one offered again is a replay.
        if trustedKey != nil, let m = memory, version < m.version {
            if m.failedVersion != version {
                var refused = m
                refused.failedVersion = version
                try save(refused)
                try await report(version: version, outcome: "failed",
                                 message: "signature: version \(version) is older than version \(m.version) running here; not applied", liveSha256: liveSha)
            }
            return "version \(version) refused: older than \(m.version)"
        }
        if let m = memory, m.failedVersion == version { return nil }
        let text: String
        switch verified(desired, version: version, served: served) {
        case .success(let checked): text = checked
        case .failure(let refusal):
            var m = memory ?? Memory(version: 0, sha256: liveSha ?? "")
            m.failedVersion = version
            try save(m)
            try await report(version: version, outcome: "failed", message: refusal.message, liveSha256: liveSha)
            return "version \(version) refused: \(refusal.message)"
        }
        let sha = Self.sha256(Data(text.utf8))
        if memory == nil, liveSha == sha {
            // First start on a node that already runs the desired text.
            try save(Memory(version: version, sha256: sha))
            try await report(version: version, outcome: "applied", message: "already running version \(version)", liveSha256: nil)
            return "adopted version \(version)"
        }
        let drifted = memory.map { m in liveSha != nil && liveSha != m.sha256 } ?? false
        switch try applier.apply(text) {
        case .applied(let ms, let retiredMs, let started):
            try save(Memory(version: version, sha256: sha))
            let how = started ? "nginx started" : "nginx -t + reload"
            let retired = retiredMs.map { String(format: "; old workers gone after %.1f ms", $0) }
                ?? (started ? "" : "; old workers still finishing requests 5 s later")
            try await report(version: version, outcome: "applied",
                             message: String(format: "applied in %.1f ms (%@)", ms, how) + retired + (drifted ? "; replaced a hand-edited nginx.conf" : ""),
                             liveSha256: nil)
            return "applied version \(version) in \(String(format: "%.1f", ms)) ms"
        case .failed(let message):
            var m = memory ?? Memory(version: 0, sha256: liveSha ?? "")
            m.failedVersion = version
            try save(m)
            try await report(version: version, outcome: "failed", message: message, liveSha256: liveSha)
            return "version \(version) failed: \(message)"
        }
    }

    struct Refusal: Error { var message: String }

    /// The text to apply. With a pinned key: the cluster text must carry the key's signature over (cluster, version,
    /// its sha256), and the node text is rendered here from it, with a listen address that must be an IP literal;
    /// what the server rendered is not trusted. Without one: the text as served.
    func verified(_ desired: [String: Any], version: Int, served: String) -> Result<String, Refusal> {
        guard let trustedKey else { return .success(served) }
        guard let clusterText = desired["clusterText"] as? String,
              CheckpointSigner.nginxVersionSigned(desired["signature"] as? String, by: trustedKey, cluster: cluster, version: version,
                                                  sha256: Self.sha256(Data(clusterText.utf8))) else {
            return .failure(Refusal(message: "signature: version \(version) is not signed by the pinned key; not applied"))
        }
        let address = desired["listenAddress"] as? String
        if let address, !Self.isIPLiteral(address) {
            return .failure(Refusal(message: "signature: the listen address \"\(address.prefix(60))\" is not an IP address; not applied"))
        }
        return .success(NginxRenderer.nodeText(clusterText, listenAddress: address))
    }

    static func isIPLiteral(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    private func report(version: Int, outcome: String, message: String, liveSha256: String?) async throws {
        var body: [String: Any] = ["version": version, "outcome": outcome, "message": String(message.prefix(16_000))]
        if let liveSha256 { body["liveSha256"] = liveSha256 }
        _ = try await client.call(.POST, base + "/reports", body: body)
    }
}
