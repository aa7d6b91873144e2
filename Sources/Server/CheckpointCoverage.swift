import EventLog
import Events
import Foundation

/// For the audit API: per events partition, the newest checkpoint that is signed by this installation's key and
/// matches the stored chain at its offset. An audit item at or before it is `covered`; a later one is not signed yet
/// (it will be within the checkpoint interval). This is not `wharf audit verify`, which walks every chain: it says
/// what a checkpoint vouches for, as seen by this process. Reads only the checkpoints appended since the last call.
final class CheckpointCoverage: @unchecked Sendable {
    private let log: any EventLog
    /// This installation's key only: coverage is what Wharf itself signed.
    private let trusted: TrustedKeys?
    private let lock = NSLock()
    private var next: [Int: Int64] = [:]
    private var covered: [Int: Int64] = [:]

    init(log: any EventLog, signer: CheckpointSigner?) {
        self.log = log
        trusted = signer.map { signer in
            var keys = TrustedKeys()
            keys.keys[signer.keyId] = signer.privateKey.publicKey
            return keys
        }
    }

    /// The newest covered events offset of each partition in `partitions` (absent: none yet).
    func newest(partitions: Set<Int>) async throws -> [Int: Int64] {
        guard let trusted else { return [:] }
        for p in partitions {
            var at = lock.withLock { next[p] ?? 0 }
            var best = lock.withLock { covered[p] ?? -1 }
            while true {
                let batch = try await log.read(topic: Topics.checkpoints, partition: p, from: at, limit: 5000)
                guard let last = batch.last else { break }
                for record in batch where record.key == Checkpoint.key(topic: Topics.events, partition: p) {
                    guard let c = try? CanonicalJSON.decode(Checkpoint.self, from: record.value), c.offset > best,
                          c.topic == Topics.events, c.partition == p, trusted.isValid(c) == true,
                          let stored = try await log.read(topic: Topics.events, partition: p, from: c.offset, limit: 1).first,
                          stored.offset == c.offset, stored.hash == c.hash else { continue }
                    best = c.offset
                }
                at = last.offset + 1
            }
            lock.withLock { next[p] = at; covered[p] = best }
        }
        return lock.withLock { covered.filter { partitions.contains($0.key) && $0.value >= 0 } }
    }
}
