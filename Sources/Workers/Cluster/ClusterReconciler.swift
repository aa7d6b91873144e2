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
/// After applying, it lists Wharf's pods and appends `RecordServiceInstances` for every service whose pods there
/// changed since it last reported (ready pods' IPs become the service's live members). Polled, not watched yet.
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
    /// Services placed here in the last round: one placed again is reported afresh (a settled move that left this
    /// cluster made the service forget its pods here, however unchanged they are).
    private var placed: Set<String> = []

    init(cluster: String, client: KubernetesClient, appender: CommandAppender, logger: Logger) {
        self.cluster = cluster; self.client = client; self.appender = appender; self.logger = logger
    }

    /// Forgets what was applied and reported (as after a start), for a cluster that was away.
    func forget() {
        reported = [:]
        applied = [:]
        placed = []
    }

    /// `desired`: the objects of every service placed here, each list in apply order; `holding`: services whose objects
    /// here are neither applied nor pruned this round (their division is not up to date with this cluster yet).
    func reconcile(_ desired: [String: [ServiceObjects.Object]], holding: Set<String> = []) async {
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
        guard await prune(keeping: Set(desired.values.flatMap { $0 }.filter { $0.kind == "Deployment" }.map(\.path)), holding: holding) else { return }
        await observe(services: Set(desired.keys).union(holding))
    }

    /// Lists Wharf's pods and reports each service whose instances here changed; a service placed here or reported
    /// before is reported even with no pods, so members of a pruned Deployment leave.
    private func observe(services placed: Set<String>) async {
        let pods: [[String: Any]]
        do {
            pods = try await client.getJSON("/api/v1/pods?labelSelector=\(ServiceObjects.managedBy)%3Dwharf")["items"] as? [[String: Any]] ?? []
        } catch {
            logger.warning("cluster \(cluster): listing Wharf's pods failed: \(error)")
            return
        }
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
            }
        }
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

    /// Deletes Wharf's Deployments (and their Services) that no placement gives replicas here.
    /// False when the cluster could not be asked (nothing else is worth trying this round).
    @discardableResult private func prune(keeping: Set<String>, holding: Set<String>) async -> Bool {
        let listed: [[String: Any]]
        do {
            listed = try await client.getJSON("/apis/apps/v1/deployments?labelSelector=\(ServiceObjects.managedBy)%3Dwharf")["items"] as? [[String: Any]] ?? []
        } catch {
            logger.warning("cluster \(cluster): listing Wharf's deployments failed: \(error)")
            return false
        }
        for item in listed {
            guard let metadata = item["metadata"] as? [String: Any], let name = metadata["name"] as? String,
                  let namespace = metadata["namespace"] as? String else { continue }
            let path = "/apis/apps/v1/namespaces/\(namespace)/deployments/\(name)"
            if keeping.contains(path) { continue }
            if let service = (metadata["labels"] as? [String: String])?[ServiceObjects.serviceLabel], holding.contains(service) { continue }
            do {
                try await client.delete(path)
                try await client.delete("/api/v1/namespaces/\(namespace)/services/\(name)")
                applied[path] = nil
                applied["/api/v1/namespaces/\(namespace)/services/\(name)"] = nil
                logger.info("cluster \(cluster): pruned \(namespace)/\(name), which no placement gives replicas here")
            } catch {
                logger.warning("cluster \(cluster): pruning \(namespace)/\(name) failed: \(error)")
            }
        }
        return true
    }
}
