import Crypto
import Events
import Foundation
import Logging

/// The nginx worker: every new config version is checked with the real `nginx -t` in a scratch prefix, and the
/// result is reported back as `RecordNginxValidation`. A version that fails is never served to node agents.
/// Idempotent by (cluster, version): a redelivered event yields the same command id, decided once.
public struct NginxConfigValidator: EventReactor {
    public let name = "nginx"
    let nginx: NginxCommandLine
    let scratchRoot: String
    let logger: Logger
    let signer: CheckpointSigner?

    public init(nginx: NginxCommandLine, scratchRoot: String, logger: Logger, signer: CheckpointSigner? = nil) {
        self.nginx = nginx; self.scratchRoot = scratchRoot; self.logger = logger; self.signer = signer
    }

    public func react(to event: EventEnvelope, at position: LogPosition) async throws -> [Command] {
        guard let v = event.event.as(NginxConfigVersionCreated.self) else { return [] }
        let nginx = nginx, scratchRoot = scratchRoot
        // nginx -t blocks for a few milliseconds; keep it off the cooperative threads.
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<NginxCommandLine.Result, Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try nginx.test(text: v.text, scratchRoot: scratchRoot) })
            }
        }
        // A check that ran past nginx's time limit was killed; the version counts as failed, with that as the reason.
        let valid = result.status == 0 && !result.timedOut
        let message = valid ? (result.output.isEmpty ? "nginx -t: syntax is ok, test is successful" : result.output)
            : result.timedOut ? result.message("nginx -t", timeLimit: nginx.timeLimit) : result.output
        logger.info("nginx cluster \(v.cluster) version \(v.version): nginx -t \(valid ? "passed" : "failed: \(message)")")
        // Signed over the text as the log holds it (hashed here, not taken from the event's own sha256 field).
        let signature = valid ? try signer?.signNginxVersion(cluster: v.cluster, version: v.version,
                                                             sha256: HashChain.hex(SHA256.hash(data: Array(v.text.utf8)))) : nil
        return [Command(RecordNginxValidation(cluster: v.cluster, version: v.version, valid: valid, message: String(message.prefix(16_000)),
                                              signature: signature))]
    }
}
