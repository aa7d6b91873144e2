import EventLog
import Foundation

/// Opens sealed secret env values for rendering, remembering each by its sealed text (a value is sealed afresh, with
/// a new nonce, whenever it is set, so a sealed text stands for one value): a round over 2,000 services does not
/// decrypt every value every second.
final class SecretEnvOpener: @unchecked Sendable {
    let keyring: SecretKeyring
    private let lock = NSLock()
    private var opened: [String: String] = [:]

    init(keyring: SecretKeyring) { self.keyring = keyring }

    /// The plain values of one service's sealed env; throws when one cannot be opened here (a key this node lacks).
    func open(_ sealed: [String: String], service: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for (variable, text) in sealed {
            if let plain = lock.withLock({ opened[text] }) { out[variable] = plain; continue }
            let plain = try keyring.open(text, service: service, variable: variable)
            lock.withLock { opened[text] = plain }
            out[variable] = plain
        }
        return out
    }

    /// Keeps only what is still in use (values replaced or removed are forgotten).
    func retain(_ inUse: Set<String>) {
        lock.withLock { opened = opened.filter { inUse.contains($0.key) } }
    }
}
