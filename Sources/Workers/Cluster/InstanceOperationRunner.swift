import EventLog
import Events
import Foundation
import Logging
import Projections

/// Carries out the recreates and debug containers asked of one cluster's pods (pending in the read models) and
/// records each outcome, keyed by the request's command id: after a crash between the act and the record the act is
/// done again, which is harmless (deleting a gone pod answers 404; adding the same ephemeral container again changes
/// nothing), and the record is decided once.
final class InstanceOperationRunner: @unchecked Sendable {
    let cluster: String
    let client: KubernetesClient
    let queries: ReadModelQueries
    let appender: CommandAppender
    let logger: Logger
    /// Recorded by this process but perhaps not projected yet: not done a second time meanwhile.
    private var recorded: Set<String> = []

    init(cluster: String, client: KubernetesClient, queries: ReadModelQueries, appender: CommandAppender, logger: Logger) {
        self.cluster = cluster; self.client = client; self.queries = queries; self.appender = appender; self.logger = logger
    }

    func runPending() async {
        let pending: [PendingOperationRow]
        do { pending = try await queries.pendingInstanceOperations(cluster: cluster) } catch {
            logger.warning("cluster \(cluster): reading pending instance operations failed: \(error)")
            return
        }
        recorded.formIntersection(pending.map(\.id))
        for op in pending where !recorded.contains(op.id) {
            guard let service = try? await queries.service(named: op.service) else { continue }
            let outcome: RecordInstanceOperation.Outcome
            let detail: String
            do {
                (outcome, detail) = try await carryOut(op, namespace: service.businessLine)
            } catch let f as KubernetesClient.Failure where f.status == nil {
                logger.warning("cluster \(cluster): \(op.kind) of pod \(op.pod) waits: \(f)")
                return  // unreachable: the next round tries again
            } catch {
                (outcome, detail) = (.failed, KubernetesClient.oneLine("\(error)"))
            }
            do {
                try await appender.append(Command(RecordInstanceOperation(name: op.service, operation: op.id, outcome: outcome, detail: detail)),
                                          id: "operation:\(op.id)", actor: ClusterHealthMonitor.actor,
                                          correlationId: "operation:\(op.id)", causationId: op.id)
                recorded.insert(op.id)
                logger.info("cluster \(cluster): \(op.kind) of \(op.service) pod \(op.pod): \(outcome.rawValue): \(detail)")
            } catch {
                logger.warning("cluster \(cluster): recording the \(op.kind) of pod \(op.pod) failed: \(error)")
            }
        }
    }

    private func carryOut(_ op: PendingOperationRow, namespace: String) async throws -> (RecordInstanceOperation.Outcome, String) {
        let pod = "/api/v1/namespaces/\(namespace)/pods/\(op.pod)"
        switch op.kind {
        case "recreate":
            let deleted = try await client.delete(pod)
            return (.done, deleted ? "pod deleted; its Deployment starts a replacement" : "the pod was gone already")
        case "debug":
            guard let container = op.container, let image = op.image else { return (.failed, "the request names no container or image") }
            let patch: [String: Any] = ["spec": ["ephemeralContainers": [[
                "name": container, "image": image, "targetContainerName": ServiceObjects.containerName,
                "stdin": true, "tty": true, "terminationMessagePolicy": "File",
            ]]]]
            let body = String(decoding: try JSONSerialization.data(withJSONObject: patch, options: [.sortedKeys]), as: UTF8.self)
            do {
                try await client.patch(pod + "/ephemeralcontainers", body: body, contentType: "application/strategic-merge-patch+json")
            } catch let f as KubernetesClient.Failure where f.status == 404 {
                return (.failed, "the pod is gone")
            }
            return (.done, "debug container \(container) (image \(image)) added; attach: kubectl attach -it -n \(namespace) \(op.pod) -c \(container)")
        default:
            return (.failed, "unknown operation \(op.kind)")
        }
    }
}
