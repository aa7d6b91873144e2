import EventLog
import Events
import Foundation
import Logging
import Projections

/// Makes one cluster hold what the placements give it: for every service with replicas there, its objects
/// (`ServiceObjects`) by server-side apply in order (Namespace, Deployment, Service); for every Wharf Deployment
/// there that no placement gives replicas any more, the Deployment and its Service are deleted (found by label).
/// An object is applied again only when its rendering changed since this process last applied it (and once after
/// a start: the server writes nothing for an unchanged apply), so a steady fleet costs no writes.
///
/// After applying, it reads Wharf's pods (from a watch cache, `KubernetesWatch`; a LIST while the cache is not synced)
/// and appends `RecordServiceInstances` for every service whose pods there changed since it last reported (ready pods'
/// IPs become the service's live members).
final class ClusterReconciler: @unchecked Sendable {
    let cluster: String
    let client: KubernetesClient
    let appender: CommandAppender
    let logger: Logger
    /// service -> instances last reported by this process (after a start: unknown, so reported once again).
    private var reported: [String: [ServiceInstance]] = [:]
    /// path -> body last applied by this process.
    private var applied: [String: String] = [:]
    /// The last failure per service, logged once until it changes.
    private var failing: [String: String] = [:]
    /// The watch caches' change counts and the services placed when everything seen was last reported.
    private var lastObserved: (pods: Int, deployments: Int, services: Set<String>)?
    /// service -> rollout last reported by this process.
    private var rollouts: [String: ServiceRollout] = [:]
    /// Services placed here in the last round: one placed again is reported afresh (a settled move that left this
    /// cluster made the service forget its pods here, however unchanged they are).
    private var placed: Set<String> = []

    /// Watch caches of Wharf's pods and Deployments there; while one is not synced, the round lists instead.
    let pods: KubernetesWatch
    let deployments: KubernetesWatch

    static let wharfSelector = "labelSelector=\(ServiceObjects.managedBy)%3Dwharf"

    init(cluster: String, client: KubernetesClient, appender: CommandAppender, logger: Logger) {
        self.cluster = cluster; self.client = client; self.appender = appender; self.logger = logger
        pods = KubernetesWatch(client: client, path: "/api/v1/pods", query: Self.wharfSelector, logger: logger)
        deployments = KubernetesWatch(client: client, path: "/apis/apps/v1/deployments", query: Self.wharfSelector, logger: logger)
    }

    /// Forgets what was applied and reported (as after a start), for a cluster that was away.
    func forget() {
        lastObserved = nil
        reported = [:]
        rollouts = [:]
        applied = [:]
        placed = []
    }

    /// `desired`: the objects of every service placed here, each list in apply order; `holding`: services whose objects
    /// here are neither applied nor pruned this round (their division is not up to date with this cluster yet).
    func reconcile(_ desired: [String: [ServiceObjects.Object]], holding: Set<String> = []) async {
        // Taken before anything is read from the caches, so a change that lands during the round is looked at next round.
        let seen = (pods: pods.counters.changes, deployments: self.deployments.counters.changes)
        let now = Set(desired.keys).union(holding)
        for service in now.subtracting(placed) { reported[service] = nil }
        placed = now
        for (service, objects) in desired.sorted(by: { $0.key < $1.key }) {
            for object in objects where applied[object.path] != object.body {
                do {
                    try await client.apply(object.path, body: object.body)
                    applied[object.path] = object.body
                    failing[service] = nil
                } catch let f as KubernetesClient.Failure where f.status == nil {
                    // Unreachable: the rest of the round would only wait for more timeouts.
                    logger.warning("cluster \(cluster): applying \(object.kind) \(object.name) of \(service) failed: \(f)")
                    return
                } catch {
                    let text = "\(error)"
                    if failing[service] != text { logger.warning("cluster \(cluster): applying \(object.kind) \(object.name) of \(service) failed: \(text)") }
                    failing[service] = text
                    break  // the rest depends on it (a Deployment on its Namespace)
                }
            }
        }
        guard let deployments = await prune(keeping: Set(desired.values.flatMap { $0 }.filter { $0.kind == "Deployment" }.map(\.path)),
                                            holding: holding) else { return }
        // Nothing moved in the caches and the same services are placed: nothing new to report (after a failed append,
        // or while a cache lists instead of watching, look anyway).
        if let last = lastObserved, last.pods == seen.pods, last.deployments == seen.deployments, last.services == now,
           pods.synced, self.deployments.synced { return }
        let clean = await observe(services: now)
        let cleanRollouts = await observeRollouts(deployments)
        lastObserved = clean && cleanRollouts ? (seen.pods, seen.deployments, now) : nil
    }

    /// Appends `RecordServiceRollout` for every service whose Deployment here changed its rollout since last reported
    /// (a pruned one as nil, so the log says it is gone).
    private func observeRollouts(_ deployments: [[String: Any]]) async -> Bool {
        var clean = true
        var seen: [String: ServiceRollout] = [:]
        for d in deployments {
            guard let metadata = d["metadata"] as? [String: Any], metadata["deletionTimestamp"] == nil,
                  let service = (metadata["labels"] as? [String: String])?[ServiceObjects.serviceLabel] else { continue }
            seen[service] = Self.rollout(d)
        }
        for service in Set(seen.keys).union(rollouts.keys).sorted() {
            let now = seen[service]
            if rollouts[service] == now { continue }
            do {
                try await appender.append(Command(RecordServiceRollout(name: service, cluster: cluster, rollout: now)),
                                          id: "rollout:\(cluster):\(service):\(UUID().uuidString.lowercased())", actor: ClusterHealthMonitor.actor,
                                          correlationId: "rollout:\(service)", causationId: nil)
                rollouts[service] = now
            } catch {
                logger.warning("cluster \(cluster): recording the rollout of \(service) failed: \(error)")
                clean = false
            }
        }
        return clean
    }

    static func rollout(_ d: [String: Any]) -> ServiceRollout {
        let metadata = d["metadata"] as? [String: Any], spec = d["spec"] as? [String: Any], status = d["status"] as? [String: Any]
        let replicas = spec?["replicas"] as? Int ?? 1
        let updated = status?["updatedReplicas"] as? Int ?? 0, ready = status?["readyReplicas"] as? Int ?? 0
        let available = status?["availableReplicas"] as? Int ?? 0, total = status?["replicas"] as? Int ?? 0
        let caughtUp = (status?["observedGeneration"] as? Int ?? 0) >= (metadata?["generation"] as? Int ?? 1)
        let conditions = status?["conditions"] as? [[String: Any]] ?? []
        let stuck = conditions.first { c in
            (c["type"] as? String == "Progressing" && c["status"] as? String == "False") || (c["type"] as? String == "ReplicaFailure" && c["status"] as? String == "True")
        }
        let reason = (stuck?["reason"] as? String).map { String($0.prefix(256)) }.flatMap { $0.isEmpty || $0.contains(where: \.isNewline) ? nil : $0 }
        return ServiceRollout(revision: Int((metadata?["annotations"] as? [String: String])?["wharf.dev/revision"] ?? "") ?? 0, replicas: replicas,
                              updated: updated, ready: ready, available: available,
                              complete: caughtUp && updated == replicas && available == replicas && total == replicas, reason: reason)
    }

    /// Lists Wharf's pods and reports each service whose instances here changed; a service placed here or reported
    /// before is reported even with no pods, so members of a pruned Deployment leave.
    /// False when something could not be read or recorded (the next round must look again).
    @discardableResult private func observe(services placed: Set<String>) async -> Bool {
        let pods: [[String: Any]]
        do {
            if let cached = self.pods.snapshot() { pods = cached } else {
                pods = try await client.getJSON("/api/v1/pods?\(Self.wharfSelector)")["items"] as? [[String: Any]] ?? []
            }
        } catch {
            logger.warning("cluster \(cluster): listing Wharf's pods failed: \(error)")
            return false
        }
        var clean = true
        var seen: [String: [ServiceInstance]] = [:]
        for pod in pods {
            guard let metadata = pod["metadata"] as? [String: Any], let name = metadata["name"] as? String,
                  let service = (metadata["labels"] as? [String: String])?[ServiceObjects.serviceLabel] else { continue }
            if metadata["deletionTimestamp"] != nil { continue }
            seen[service, default: []].append(Self.instance(name, pod))
        }
        for service in placed.union(seen.keys).union(reported.keys).sorted() {
            let now = (seen[service] ?? []).sorted { $0.pod < $1.pod }
            if reported[service] == now { continue }
            do {
                try await appender.append(Command(RecordServiceInstances(name: service, cluster: cluster, instances: now)),
                                          id: "instances:\(cluster):\(service):\(UUID().uuidString.lowercased())", actor: ClusterHealthMonitor.actor,
                                          correlationId: "instances:\(service)", causationId: nil)
                reported[service] = now
            } catch {
                logger.warning("cluster \(cluster): recording the instances of \(service) failed: \(error)")
                clean = false
            }
        }
        return clean
    }

    static func instance(_ name: String, _ pod: [String: Any]) -> ServiceInstance {
        let spec = pod["spec"] as? [String: Any], status = pod["status"] as? [String: Any]
        let conditions = status?["conditions"] as? [[String: Any]] ?? []
        let ready = conditions.contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" }
        let containers = status?["containerStatuses"] as? [[String: Any]] ?? []
        let restarts = containers.reduce(0) { $0 + ($1["restartCount"] as? Int ?? 0) }
        let waiting = containers.compactMap { (($0["state"] as? [String: Any])?["waiting"] as? [String: Any])?["reason"] as? String }.first
        let unschedulable = conditions.first { $0["type"] as? String == "PodScheduled" && $0["status"] as? String == "False" }?["reason"] as? String
        let reason = (waiting ?? unschedulable).map { String($0.prefix(256)) }.flatMap { $0.isEmpty || $0.contains(where: \.isNewline) ? nil : $0 }
        let ip = (status?["podIP"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        return ServiceInstance(pod: name, ip: ip, node: spec?["nodeName"] as? String, phase: status?["phase"] as? String ?? "Unknown",
                               ready: ready && ip != nil, restarts: restarts, reason: ready ? nil : reason, startedAt: status?["startTime"] as? String)
    }

    /// Deletes Wharf's Deployments (and their Services) that no placement gives replicas here; returns the ones it kept.
    /// Nil when the cluster could not be asked (nothing else is worth trying this round).
    private func prune(keeping: Set<String>, holding: Set<String>) async -> [[String: Any]]? {
        let listed: [[String: Any]]
        do {
            if let cached = deployments.snapshot() { listed = cached } else {
                listed = try await client.getJSON("/apis/apps/v1/deployments?\(Self.wharfSelector)")["items"] as? [[String: Any]] ?? []
            }
        } catch {
            logger.warning("cluster \(cluster): listing Wharf's deployments failed: \(error)")
            return nil
        }
        var kept: [[String: Any]] = []
        for item in listed {
            guard let metadata = item["metadata"] as? [String: Any], let name = metadata["name"] as? String,
                  let namespace = metadata["namespace"] as? String else { continue }
            let path = "/apis/apps/v1/namespaces/\(namespace)/deployments/\(name)"
            if keeping.contains(path) { kept.append(item); continue }
            if let service = (metadata["labels"] as? [String: String])?[ServiceObjects.serviceLabel], holding.contains(service) { kept.append(item); continue }
            do {
                try await client.delete(path)
                try await client.delete("/api/v1/namespaces/\(namespace)/services/\(name)")
                try await client.delete("/api/v1/namespaces/\(namespace)/secrets/\(ServiceObjects.secretName(name))")
                applied[path] = nil
                applied["/api/v1/namespaces/\(namespace)/services/\(name)"] = nil
                applied["/api/v1/namespaces/\(namespace)/secrets/\(ServiceObjects.secretName(name))"] = nil
                logger.info("cluster \(cluster): pruned \(namespace)/\(name), which no placement gives replicas here")
            } catch {
                logger.warning("cluster \(cluster): pruning \(namespace)/\(name) failed: \(error)")
            }
        }
        return kept
    }
}
