import Foundation

/// Waits for `work` at most `limit`, without staying tied to it: when the limit passes first, the caller goes on and
/// `work` is left running (a task group would wait for it forever). For shutdown steps that must not hang a whole
/// process (closing a connection pool whose run loop does not return). Returns whether `work` finished in time.
public func finishes(within limit: Duration, _ work: @escaping @Sendable () async -> Void) async -> Bool {
    final class Once: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Bool, Never>?
        init(_ c: CheckedContinuation<Bool, Never>) { continuation = c }
        func resume(_ value: Bool) {
            let c: CheckedContinuation<Bool, Never>? = lock.withLock { defer { continuation = nil }; return continuation }
            c?.resume(returning: value)
        }
    }
    return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
        let once = Once(c)
        let worker = Task { await work(); once.resume(true) }
        Task {
            try? await Task.sleep(for: limit)
            once.resume(false)
        }
        _ = worker
    }
}
