import Events
import Foundation
import Projections

/// The Kubernetes objects of one service in one cluster, as the API expects them (validated in the tests with
/// `kubernetes-validate --strict` against 1.29 and 1.33): the business line's Namespace, the Deployment and, when
/// the service has ports, its Service. Labels name the service for selection and pruning; annotations carry the
/// revision (on the pod template too, so a new revision rolls) and, on the Deployment only, the events position of the
/// placement division it was rendered for (not on the template: a new division must scale, not roll).
///
/// Secret env goes into a Secret of the service's own (applied before the Deployment), referenced by `secretKeyRef`.
/// Not rendered yet: ConfigMaps and PVCs (services have no config files or volumes in the model yet).
public struct ServiceObjects: Sendable {
    public struct Object: Sendable, Hashable {
        /// "/api/v1/namespaces/pay" and the like: where the object is applied.
        public var path: String
        public var kind: String
        public var name: String
        /// Canonical JSON text (sorted keys): equal objects, equal bytes, so an unchanged object is not written again.
        public var body: String
    }

    public static let managedBy = "wharf.dev/managed-by"
    public static let serviceLabel = "wharf.dev/service"
    /// The service's container in its pods (debug containers target it; log reads default to it).
    public static let containerName = "app"

    /// Objects in apply order: the Namespace before what lives in it.
    /// `position`: where the placement's division sits in the events log.
    /// `secretEnv`: the service's secret variables, opened (plain text): they go into a Secret of its own
    /// (`secretName`), which the container's env references, so no value appears in the Deployment.
    public static func render(_ s: ServiceView, replicas: Int, placement: ServicePlacement, position: String,
                              secretEnv: [String: String] = [:]) throws -> [Object] {
        let namespace = s.businessLine
        let labels: [String: String] = [managedBy: "wharf", serviceLabel: s.name, "app.kubernetes.io/name": s.name]
        let annotations: [String: String] = ["wharf.dev/revision": String(s.revision), "wharf.dev/placement-position": position]
        let templateAnnotations: [String: String] = ["wharf.dev/revision": String(s.revision)]
        var container: [String: Any] = [
            "name": containerName, "image": s.image,
            "resources": ["requests": ["cpu": "\(placement.cpuPerReplica)m", "memory": "\(placement.memoryPerReplica)"],
                          "limits": ["memory": "\(placement.memoryPerReplica)"]],
        ]
        var env: [[String: Any]] = s.env.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value] }
        env += secretEnv.keys.sorted().map { ["name": $0, "valueFrom": ["secretKeyRef": ["name": secretName(s.name), "key": $0]]] }
        if !env.isEmpty { container["env"] = env }
        let ports = s.ports.enumerated().map { i, p -> [String: Any] in
            ["name": p.name ?? "p\(i)-\(p.containerPort)", "containerPort": p.containerPort, "protocol": p.protocol]
        }
        if !ports.isEmpty { container["ports"] = ports }
        if let h = s.healthCheck {
            let probe: [String: Any] = ["httpGet": ["path": h.path, "port": h.port], "initialDelaySeconds": h.initialDelaySeconds,
                                        "periodSeconds": h.periodSeconds]
            container["readinessProbe"] = probe
            container["livenessProbe"] = probe
        }
        let deployment: [String: Any] = [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": s.name, "namespace": namespace, "labels": labels, "annotations": annotations],
            "spec": [
                "replicas": replicas,
                "selector": ["matchLabels": [serviceLabel: s.name]],
                // No replica leaves before its replacement is ready: the upstreams never lose capacity to a rollout.
                "strategy": ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": "25%", "maxUnavailable": 0]],
                "template": [
                    "metadata": ["labels": labels, "annotations": templateAnnotations],
                    "spec": ["containers": [container]],
                ],
            ],
        ]
        var objects = [
            try object("/api/v1/namespaces/\(namespace)", kind: "Namespace", name: namespace,
                       ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": namespace, "labels": [managedBy: "wharf"]]]),
        ]
        if !secretEnv.isEmpty {
            // data (base64), not stringData: what is applied is what is stored, so an unchanged Secret is not written again.
            objects.append(try object("/api/v1/namespaces/\(namespace)/secrets/\(secretName(s.name))", kind: "Secret", name: secretName(s.name), [
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": ["name": secretName(s.name), "namespace": namespace, "labels": labels],
                "data": secretEnv.mapValues { Data($0.utf8).base64EncodedString() },
            ]))
        }
        objects.append(try object("/apis/apps/v1/namespaces/\(namespace)/deployments/\(s.name)", kind: "Deployment", name: s.name, deployment))
        if !ports.isEmpty {
            let servicePorts = s.ports.enumerated().map { i, p -> [String: Any] in
                ["name": p.name ?? "p\(i)-\(p.containerPort)", "port": p.containerPort, "targetPort": p.containerPort, "protocol": p.protocol]
            }
            objects.append(try object("/api/v1/namespaces/\(namespace)/services/\(s.name)", kind: "Service", name: s.name, [
                "apiVersion": "v1", "kind": "Service",
                // No revision or division annotations: nothing in a Service depends on them, and a new image or split
                // must not rewrite it (one write per changed object).
                "metadata": ["name": s.name, "namespace": namespace, "labels": labels],
                "spec": ["type": "ClusterIP", "selector": [serviceLabel: s.name], "ports": servicePorts],
            ]))
        }
        return objects
    }

    /// The Secret holding a service's secret env.
    public static func secretName(_ service: String) -> String { "\(service)-secret-env" }

    static func object(_ path: String, kind: String, name: String, _ body: [String: Any]) throws -> Object {
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])
        return Object(path: path, kind: kind, name: name, body: String(decoding: data, as: UTF8.self))
    }
}
