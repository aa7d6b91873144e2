import Foundation

/// The project's simulated Kubernetes API (`ops/kube-sim`, not a real API server: none can run on these machines),
/// started for one test on a free loopback port with its own directory, token and CA.
public final class KubeSimulator: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    public let token: String
    public let caBundle: String
    public var apiServer: String { "https://127.0.0.1:\(port)" }

    /// `podNetwork`: the first two octets of pod IPs ("10.244"); give clusters of one test different ones, as real
    /// clusters whose pods Nginx reaches directly have.
    public init(nodes: Int = 3, nodeCPU: String = "4", nodeMemory: String = "8Gi", readyDelay: Double = 0.5, podNetwork: String? = nil) throws {
        port = try TestEnvironment.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-kube-sim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let started = try ExternalTool.run([Self.script, "start", String(port), directory.path, "--nodes", String(nodes), "--node-cpu", nodeCPU,
                                            "--node-memory", nodeMemory, "--ready-delay", String(readyDelay)]
                                           + (podNetwork.map { ["--pod-cidr", $0] } ?? []), timeLimit: .seconds(60))
        guard started.status == 0 else { throw Failure(description: "ops/kube-sim start failed (\(started.status)): \(started.output)") }
        token = try String(contentsOf: directory.appendingPathComponent("token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        caBundle = try String(contentsOf: directory.appendingPathComponent("ca.crt"), encoding: .utf8)
    }

    static var script: String { TestEnvironment.repositoryRoot.appendingPathComponent("ops/kube-sim").path }

    /// `down`, `slow MS`, `errors`, `nodes-notready` or `clear` (see ops/kube-sim).
    public func fault(_ mode: String, _ argument: String? = nil) throws {
        try control(["fault", directory.path, mode] + (argument.map { [$0] } ?? []))
    }

    /// Drops the watch history: a watch from an older resourceVersion gets 410 Expired.
    public func compact() throws { try control(["compact", directory.path]) }

    /// Runs `ops/kube-sim ARGS` against this simulator; its output is the failure's text.
    private func control(_ arguments: [String]) throws {
        let r = try ExternalTool.run([Self.script] + arguments, timeLimit: .seconds(30))
        guard r.status == 0 else { throw Failure(description: "ops/kube-sim \(arguments.joined(separator: " ")) failed: \(r.output)") }
    }

    /// `/sim/stats`: real writes per kind through the API, applies, no-op applies, requests.
    public func stats() throws -> [String: Any] {
        let r = try ExternalTool.run([Self.script, "stats", directory.path], stdoutOnly: true, timeLimit: .seconds(30))
        guard r.status == 0, let object = try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any] else {
            throw Failure(description: "ops/kube-sim stats failed: \(r.output)")
        }
        return object
    }

    public func stop() {
        _ = try? ExternalTool.run([Self.script, "stop", directory.path], timeLimit: .seconds(30))
        try? FileManager.default.removeItem(at: directory)
    }

    public struct Failure: Error, CustomStringConvertible { public var description: String }
}
