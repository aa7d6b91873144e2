import Crypto
import Events
import Foundation

/// Whether an event is vouched for by the installation: a checkpoint its key signed at or after the event's offset,
/// over the chain recomputed from the event to that checkpoint. For workers whose acts outside Wharf must rest on
/// the log as the processor wrote it (the nginx worker signs the versions agents apply): an event someone wrote
/// into the store around the processor is never covered, because the processor signs no tail it cannot derive
/// from authenticated commands.
public final class SignedCoverage: @unchecked Sendable {
    private let log: any EventLog
    /// The installation's key alone: checkpoints signed by any other key vouch for nothing here.
    private let trusted: TrustedKeys
    private let lock = NSLock()
    /// Per events partition: the installation's checkpoints seen so far (ascending offsets) and where reading goes on.
    private var seen: [Int: (checkpoints: [(offset: Int64, hash: String)], next: Int64)] = [:]

    public init(log: any EventLog, publicKey: Curve25519.Signing.PublicKey) {
        var trusted = TrustedKeys()
        trusted.keys[CheckpointSigner.keyId(publicKey: publicKey.rawRepresentation)] = publicKey
        self.log = log; self.trusted = trusted
    }

    /// nil when the event is covered; otherwise why not. Waits up to `timeout` for the covering checkpoint (the
    /// processor signs a batch with a `signedPromptly` event as soon as it commits).
    public func problem(with value: String, at position: LogPosition, timeout: Duration) async throws -> String? {
        let p = position.partition
        let deadline = ContinuousClock.now + timeout
        var covering: (offset: Int64, hash: String)?
        while true {
            covering = try await refresh(partition: p).first { $0.offset >= position.offset }
            if covering != nil { break }
            let now = ContinuousClock.now
            guard now < deadline else { return "no checkpoint of the installation's key covers \(Topics.events)/\(p) offset \(position.offset) after \(timeout)" }
            let next = lock.withLock { seen[p]?.next ?? 0 }
            await log.waitForRecords(topic: Topics.checkpoints, partition: p, from: next, timeout: min(deadline - now, .seconds(1)))
        }
        guard let covering else { return "unreachable" }
        // The chain from the event's stored predecessor hash through the checkpoint: equal to the signed hash only if
        // the event and everything after it up to the checkpoint are what the processor wrote.
        var hash: String?
        var at = position.offset
        while at <= covering.offset {
            let batch = try await log.readTowardsEnd(topic: Topics.events, partition: p, from: at, limit: 1000)
            guard let last = batch.last else { break }
            for record in batch where record.offset <= covering.offset {
                if hash == nil {
                    guard record.offset == position.offset, record.value == value, let previous = record.prevHash else {
                        return "\(Topics.events)/\(p) offset \(position.offset) no longer holds the event read there"
                    }
                    hash = previous
                }
                hash = HashChain.next(previous: hash!, value: record.value)
            }
            at = last.offset + 1
        }
        guard hash == covering.hash else {
            return "the chain from \(Topics.events)/\(p) offset \(position.offset) to the checkpoint at \(covering.offset) does not match its signed hash"
        }
        return nil
    }

    /// The installation's checkpoints of events partition `p` seen so far, after reading the new ones.
    private func refresh(partition p: Int) async throws -> [(offset: Int64, hash: String)] {
        let from = lock.withLock { seen[p]?.next ?? 0 }
        let read = try await log.checkpoints(of: Topics.events, partition: p, from: from)
        let own = read.checkpoints.filter { $0.topic == Topics.events && $0.partition == p && trusted.isValid($0) == true }
        return lock.withLock {
            var entry = seen[p] ?? ([], 0)
            guard read.next > entry.next else { return entry.checkpoints }
            for c in own where c.offset > entry.checkpoints.last?.offset ?? -1 { entry.checkpoints.append((c.offset, c.hash)) }
            entry.next = read.next
            seen[p] = entry
            return entry.checkpoints
        }
    }
}
