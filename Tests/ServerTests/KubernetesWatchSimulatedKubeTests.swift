import Foundation
import Logging
import Testing
import TestSupport
@testable import Workers

/// The cluster worker's list-then-watch cache against the project's simulated Kubernetes API (`ops/kube-sim`; no real
/// API server can run here): one list, then changes (added, changed, deleted) arrive by watch, filtered by label; a
/// watch from a version older than the server's history is refused with 410, on which the cache lists again.
@Suite struct KubernetesWatchSimulatedKubeTests {
    @Test(.timeLimit(.minutes(2))) func theCacheFollowsChangesByWatchAndAnExpiredVersionIsRefused() async throws {
        let sim = try KubeSimulator()
        defer { sim.stop() }
        let kube = try KubernetesClient(apiServer: sim.apiServer, caBundle: sim.caBundle, token: sim.token)
        defer { Task { await kube.shutdown() } }
        let watch = KubernetesWatch(client: kube, path: "/api/v1/configmaps", query: "labelSelector=test%3Dwatch", logger: Logger(label: "test"))
        let task = Task { await watch.run() }
        defer { task.cancel() }
        func configMap(_ name: String, labelled: Bool, value: String) -> String {
            #"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "\#(name)", "namespace": "w"\#(labelled ? #", "labels": {"test": "watch"}"# : "")}, "data": {"v": "\#(value)"}}"#
        }
        func names() -> [String: String]? {
            watch.snapshot().map { items in
                Dictionary(uniqueKeysWithValues: items.compactMap { item in
                    ((item["metadata"] as? [String: Any])?["name"] as? String).map { ($0, (item["data"] as? [String: String])?["v"] ?? "") }
                })
            }
        }
        let wait = Eventually(seconds: 20)
        try await kube.apply("/api/v1/namespaces/w", body: #"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "w"}}"#)
        try await wait.until("synced, empty") { names() == [:] }
        try await kube.apply("/api/v1/namespaces/w/configmaps/one", body: configMap("one", labelled: true, value: "1"))
        try await kube.apply("/api/v1/namespaces/w/configmaps/other", body: configMap("other", labelled: false, value: "x"))
        try await wait.until("one added, the unlabelled one left out") { wait.seen = "\(names() ?? [:])"; return names() == ["one": "1"] }
        try await kube.apply("/api/v1/namespaces/w/configmaps/one", body: configMap("one", labelled: true, value: "2"))
        try await wait.until("one changed") { names() == ["one": "2"] }
        try await kube.delete("/api/v1/namespaces/w/configmaps/one")
        try await wait.until("one deleted") { names() == [:] }
        #expect(watch.counters.lists == 1, "followed by watching, not by listing again")

        // A version older than the history the server keeps: 410 Expired, which `run` answers by listing again.
        let old = ((try await kube.getJSON("/api/v1/configmaps?labelSelector=test%3Dwatch"))["metadata"] as? [String: Any])?["resourceVersion"] as? String ?? ""
        try await kube.apply("/api/v1/namespaces/w/configmaps/two", body: configMap("two", labelled: true, value: "1"))
        try sim.compact()
        await #expect(throws: KubernetesWatch.Expired.self) { _ = try await watch.watch(from: old) }
        try await wait.until("two seen after the compaction") { names() == ["two": "1"] }
    }
}
