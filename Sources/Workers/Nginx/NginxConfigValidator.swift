import Crypto
import EventLog
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
    /// With a signer: a version is checked and signed only once a checkpoint of the installation's key covers its
    /// event, so one written into the store around the processor is never signed for the agents.
    let coverage: SignedCoverage?
    /// How long to wait for that checkpoint (the processor signs such a batch as soon as it commits).
    let coverageTimeout: Duration

    public init(nginx: NginxCommandLine, scratchRoot: String, logger: Logger, signer: CheckpointSigner? = nil, coverage: SignedCoverage? = nil,
                coverageTimeout: Duration = .seconds(30)) {
        self.nginx = nginx; self.scratchRoot = scratchRoot; self.logger = logger; self.signer = signer; self.coverage = coverage
        self.coverageTimeout = coverageTimeout
    }

    public struct NotVouched: Error, CustomStringConvertible {
        public var description: String
    }

    public func react(to event: EventEnvelope, at position: LogPosition) async throws -> [Command] {
        guard let v = event.event.as(NginxConfigVersionCreated.self) else { return [] }
        if let coverage, let problem = try await coverage.problem(with: event.canonicalJSON(), at: position, timeout: coverageTimeout) {
            // Not reported as a failed validation: a forged event may reuse a real version's number. The worker stops
            // here (and retries); the processor halts the partition on its next start.
            logger.critical("nginx cluster \(v.cluster) version \(v.version) at \(position): not signed: \(problem)")
            throw NotVouched(description: "nginx version event at \(position) is not vouched for by a checkpoint: \(problem); run `wharf audit verify`")
        }
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
