import Events
import Foundation
import Testing

/// One sample of every command and event type, used here and by the schema test.
enum Samples {
    static let template = PodTemplate(image: "registry.local/pay/api:1.0", env: ["MODE": "prod", "A_B": "x/y"],
                                      ports: [ServicePort(name: "http", containerPort: 8080), ServicePort(containerPort: 53, protocol: "UDP")],
                                      healthCheck: HealthCheck(path: "/healthz", port: 8080))

    static let commands: [Command] = [
        Command(CreateService(name: "payments-api", businessLine: "pay", image: "registry.local/pay/api:1.0", replicas: 2,
                                     env: ["MODE": "prod"], ports: [ServicePort(containerPort: 8080)],
                                     healthCheck: HealthCheck(path: "/healthz", port: 8080), domain: "pay.example.com")),
        Command(CreateService(name: "minimal", businessLine: "pay", image: "busybox", replicas: 0)),
        Command(UpdateServiceConfig(name: "payments-api", env: ["MODE": "test"], clearHealthCheck: true)),
        Command(UpdateServiceConfig(name: "payments-api", ports: [ServicePort(name: "dns", containerPort: 53, protocol: "UDP")],
                                                 healthCheck: HealthCheck(path: "/ready", port: 53, initialDelaySeconds: 5, periodSeconds: 30),
                                                 domain: "pay.example.com", clearDomain: false)),
        Command(UpgradeServiceImage(name: "payments-api", image: "registry.local/pay/api:1.1")),
        Command(ScaleService(name: "payments-api", replicas: 5)),
        Command(RollbackService(name: "payments-api", revision: 1)),
        Command(DestroyService(name: "payments-api")),
        Command(SetServiceAddresses(name: "payments-api", addresses: ["10.0.3.7:8080", "[fd00::7]:8080"])),
        Command(CreateNginxCluster(name: "edge", environment: .test,
                                               nodes: [NginxNode(name: "ng-1", listenAddress: "10.0.0.11"), NginxNode(name: "ng-2")],
                                               upstreams: [nginxUpstream, NginxUpstream(name: "shop-canary", servers: [NginxUpstreamServer(address: "10.0.3.8:8080", down: true)])],
                                               sites: [nginxSite], testDomain: NginxTestDomain(wildcard: "test.example.com", listen: 80), reason: "initial")),
        Command(AddNginxNode(cluster: "edge", node: NginxNode(name: "ng-3", listenAddress: "fd00::3"))),
        Command(RemoveNginxNode(cluster: "edge", node: "ng-2")),
        Command(PutNginxUpstream(cluster: "edge", upstream: nginxUpstream, reason: "add a backend")),
        Command(DeleteNginxUpstream(cluster: "edge", name: "shop-canary")),
        Command(PutNginxSite(cluster: "edge", site: nginxSite)),
        Command(DeleteNginxSite(cluster: "edge", name: "shop", reason: "retired")),
        Command(RollbackNginxConfig(cluster: "edge", version: 2, reason: "bad canary")),
        Command(RollbackNginxConfig(cluster: "edge", version: 2, content: NginxVersionContent(text: "events {}\nhttp {}\n", upstreams: [nginxUpstream],
                                                                                              sites: [nginxSite]))),
        Command(SyncNginxServiceMembers(cluster: "edge", members: nginxMembers)),
        Command(RecordNginxValidation(cluster: "edge", version: 3, valid: false, message: "nginx: [emerg] unknown directive \"x\"")),
        Command(RecordNginxNodeReport(cluster: "edge", node: "ng-1", version: 3, outcome: .drift, message: "live file changed by hand",
                                                     liveSha256: String(repeating: "ab", count: 32))),
        Command(CreateUser(name: "alice", displayName: "Alice Example", email: "alice@example.com")),
        Command(SetPlatformRoles(user: "alice", roles: [.auditor, .operator])),
        Command(SetUserDisabled(name: "alice", disabled: true)),
        Command(CreateBusinessLine(name: "pay", displayName: "Payments")),
        Command(SetMemberRole(line: "pay", user: "alice", role: .developer)),
        Command(RemoveMember(line: "pay", user: "alice")),
        Command(IssueToken(id: "0123456789abcdef", user: "alice", description: "laptop", sha256: String(repeating: "ab", count: 32),
                           expiresAt: "2027-01-31T00:00:00.000Z")),
        Command(IssueToken(id: "bootstrap", user: "admin", description: "bootstrap", sha256: String(repeating: "cd", count: 32))),
        Command(RevokeToken(id: "0123456789abcdef")),
        Command(RecordAccessDenied(subject: "user:bob", method: "POST", path: "/v1/services/pay-api/scale",
                                   permission: "developer in business line \"pay\" (holds viewer)")),
        Command(CreateService(name: "vault-app", businessLine: "pay", image: "busybox", replicas: 1, env: ["MODE": "prod"],
                              secretEnv: ["DB_PASSWORD": sealed])),
        Command(UpdateServiceConfig(name: "vault-app", secretEnv: ["API_KEY": sealed])),
        Command(UpdateServiceConfig(name: "vault-app", removeSecretEnv: ["API_KEY", "OLD"])),
        Command(RevealServiceSecret(name: "vault-app", variable: "DB_PASSWORD")),
        Command(RecordNginxValidation(cluster: "edge", version: 4, valid: true, message: "syntax is ok",
                                      signature: "0123456789abcdef:" + Data(repeating: 7, count: 64).base64EncodedString())),
        Command(PutCodeflow(name: "pay-api", spec: codeflowSpec, webhookSecret: sealed)),
        Command(PutCodeflow(name: "pay-api", spec: minimalSpec)),
        Command(RequestBuild(id: "0123456789abcdef0123", codeflow: "pay-api", spec: codeflowSpec, ref: "refs/heads/main",
                             commit: String(repeating: "ab", count: 20),
                             trigger: BuildTrigger(source: .gitlab, event: "push", delivery: "9f2c-11ee", user: "jsmith"))),
        Command(RequestBuild(id: "0123456789abcdef0124", codeflow: "pay-api", spec: minimalSpec, ref: "main",
                             trigger: BuildTrigger(source: .retry, user: "user:alice"), retryOf: "0123456789abcdef0123")),
        Command(StartBuild(id: "0123456789abcdef0123", runner: "build-1:4242:1764547200")),
        Command(FinishBuild(id: "0123456789abcdef0123", runner: "build-1:4242:1764547200", outcome: .succeeded, commit: String(repeating: "ab", count: 20),
                            image: "127.0.0.1:5000/pay-api/pay-api:abababababab-0123456789ab", digest: "sha256:" + String(repeating: "cd", count: 32),
                            cacheHit: true, phases: ["fetch": 120, "script": 900, "preprocess": 3, "image": 400, "push": 80])),
        Command(FinishBuild(id: "0123456789abcdef0124", runner: "build-1:4242:1764547200", outcome: .failed, reason: "the build script exited with status 3")),
        Command(CancelBuild(id: "0123456789abcdef0124")),
        Command(RecordWebhookIgnored(provider: "github", delivery: "72d3162e-cc78", event: "push", repository: "https://github.com/pay/api.git",
                                     ref: "refs/heads/feature/x", user: "octocat", reason: "feature/x matches the branches of no codeflow")),
        Command(SetServicePlacement(name: "payments-api", placement: ServicePlacement(clusters: ["prod-a", "prod-b"], division: .staticWeight,
                                                                                     weights: ["prod-a": 3, "prod-b": 1]))),
        Command(SetServicePlacement(name: "payments-api", placement: ServicePlacement(selector: ["tier": "gold"], division: .dynamicWeight,
                                                                                     replicaCPUMillis: 250, replicaMemoryBytes: 268_435_456))),
        Command(RecordPlacementDecision(name: "payments-api", placementRevision: 2, replicas: 5, inputs: placementInputs,
                                        result: ["prod-a": 3, "prod-b": 2])),
        Command(RecordServiceInstances(name: "payments-api", cluster: "prod-a", instances: instances)),
        Command(RecordServiceInstances(name: "payments-api", cluster: "prod-b", instances: [])),
        Command(SetInstanceRotation(name: "payments-api", cluster: "prod-a", pod: "payments-api-7d9f8-x2kq4", inRotation: false)),
        Command(RecreateInstance(name: "payments-api", cluster: "prod-a", pod: "payments-api-7d9f8-x2kq4")),
        Command(AddDebugContainer(name: "payments-api", cluster: "prod-a", pod: "payments-api-7d9f8-x2kq4", container: "debug-1a2b3c4d",
                                  image: "registry.example.com/tools/busybox:1.36")),
        Command(ReadInstanceLogs(name: "payments-api", cluster: "prod-a", pod: "payments-api-7d9f8-x2kq4", tailLines: 500)),
        Command(ReadInstanceLogs(name: "payments-api", cluster: "prod-a", pod: "payments-api-7d9f8-x2kq4", container: "debug-1a2b3c4d",
                                 sinceSeconds: 60, follow: true)),
        Command(RecordServiceRollout(name: "payments-api", cluster: "prod-a", rollout: ServiceRollout(revision: 3, replicas: 4, updated: 2, ready: 4,
                                                                                                  available: 4, complete: false))),
        Command(RecordServiceRollout(name: "payments-api", cluster: "prod-b", rollout: nil)),
        Command(RecordInstanceOperation(name: "payments-api", operation: "0f9e8d7c-6b5a-4321-8765-43210fedcba9", outcome: .done,
                                        detail: "pod deleted; its Deployment starts a replacement")),
        Command(RegisterCluster(name: "prod-a", spec: clusterSpec, token: sealed)),
        Command(RegisterCluster(name: "sim", spec: ClusterSpec(apiServer: "https://127.0.0.1:6443", environment: .test), token: sealed)),
        Command(CordonCluster(name: "prod-a")),
        Command(UncordonCluster(name: "prod-a")),
        Command(DrainCluster(name: "prod-a")),
        Command(RemoveCluster(name: "prod-a")),
        Command(RecordClusterHealth(name: "prod-a", health: clusterHealth)),
        Command(RecordClusterHealth(name: "prod-a", health: ClusterHealth(reachable: false, nodesReady: 0, nodesTotal: 0, allocatableCPUMillis: 0,
                                                                          allocatableMemoryBytes: 0, requestedCPUMillis: 0, requestedMemoryBytes: 0,
                                                                          reason: "cannot reach https://k8s.example.com: connection refused"))),
    ]

    static let instances = [ServiceInstance(pod: "payments-api-5d8f9c7b6a-x2k4q", ip: "10.1.0.12", node: "node-1", phase: "Running", ready: true,
                                            restarts: 0, startedAt: "2026-12-03T09:30:00Z"),
                            ServiceInstance(pod: "payments-api-5d8f9c7b6a-zz9p1", phase: "Pending", ready: false, reason: "Unschedulable")]
    static let placementInputs = [PlacementInput(cluster: "prod-a", state: "active", available: 30, previous: 2),
                                  PlacementInput(cluster: "prod-b", state: "cordoned", available: 0, previous: 2),
                                  PlacementInput(cluster: "prod-c", state: "unhealthy", weight: 1, previous: 1)]
    static let clusterSpec = ClusterSpec(apiServer: "https://k8s-prod-a.example.com:6443/", caBundle: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                                         environment: .prod, region: "eu-west", labels: ["tier": "gold", "wharf.dev/zone": "a"])
    static let clusterHealth = ClusterHealth(reachable: true, nodesReady: 3, nodesTotal: 3, allocatableCPUMillis: 12_000, allocatableMemoryBytes: 25_769_803_776,
                                             requestedCPUMillis: 1_500, requestedMemoryBytes: 2_147_483_648)

    static let sealed = SealedSecret(keyId: "k1764547200", combined: Data((0..<44).map { UInt8($0) })).text

    static let events: [Event] = [
        Event(ServiceCreated(name: "payments-api", businessLine: "pay", replicas: 2, domain: "pay.example.com", revision: 1, template: template)),
        Event(ServiceCreated(name: "minimal", businessLine: "pay", replicas: 0, domain: nil, revision: 1,
                                       template: PodTemplate(image: "busybox"))),
        Event(ServiceConfigUpdated(name: "payments-api", revision: 2, template: template, domain: nil)),
        Event(ServiceImageUpgraded(name: "payments-api", previousImage: "a:1", revision: 3, template: template)),
        Event(ServiceScaled(name: "payments-api", previousReplicas: 2, replicas: 5)),
        Event(ServiceRolledBack(name: "payments-api", toRevision: 1, revision: 4, template: template)),
        Event(ServiceDestroyed(name: "payments-api")),
        Event(CommandRejected(commandType: "ScaleService", code: .notFound, reason: "service \"x\" does not exist")),
        Event(ServiceAddressesSet(name: "payments-api", addresses: ["10.0.3.7:8080"])),
        Event(NginxClusterCreated(name: "edge", environment: .prod, nodes: [NginxNode(name: "ng-1")], upstreams: [nginxUpstream],
                                                 sites: [nginxSite], testDomain: nil)),
        Event(NginxNodeAdded(cluster: "edge", node: NginxNode(name: "ng-3", listenAddress: "10.0.0.13"))),
        Event(NginxNodeRemoved(cluster: "edge", node: "ng-2")),
        Event(NginxUpstreamPut(cluster: "edge", upstream: nginxUpstream)),
        Event(NginxUpstreamDeleted(cluster: "edge", name: "shop-canary")),
        Event(NginxSitePut(cluster: "edge", site: nginxSite)),
        Event(NginxSiteDeleted(cluster: "edge", name: "shop")),
        Event(NginxConfigRolledBack(cluster: "edge", toVersion: 1, upstreams: [nginxUpstream], sites: [nginxSite])),
        Event(NginxServiceMembersSynced(cluster: "edge", members: nginxMembers)),
        Event(NginxConfigVersionCreated(cluster: "edge", version: 3, reason: "rollback to version 1",
                                                             text: "upstream shop {\n    server 10.0.3.7:8080;\n}\n",
                                                             sha256: String(repeating: "0f", count: 32),
                                                             diff: "@@ -1 +1 @@\n-a\n+b\n", rolledBackTo: 1)),
        Event(NginxConfigValidated(cluster: "edge", version: 3, valid: true, message: "syntax is ok")),
        Event(NginxNodeReported(cluster: "edge", node: "ng-1", version: 3, outcome: .applied, message: "reloaded", liveSha256: nil)),
        Event(CommandRejected(commandType: "PutNginxSite", code: .invalid, reason: "sites[0].serverNames[0]: not a server name")),
        Event(CommandRejected(commandType: "unknown", code: .invalid, reason: "undecodable command record")),
        Event(CommandUnchanged(commandType: "ScaleService", reason: "service \"payments-api\" already has 5 replicas")),
        Event(UserCreated(name: "alice", displayName: "Alice Example", email: "alice@example.com")),
        Event(PlatformRolesSet(user: "alice", roles: [.auditor, .operator])),
        Event(UserDisabledSet(name: "alice", disabled: false)),
        Event(BusinessLineCreated(name: "pay", displayName: "Payments")),
        Event(MemberRoleSet(line: "pay", user: "alice", role: .owner)),
        Event(MemberRemoved(line: "pay", user: "alice")),
        Event(TokenIssued(id: "0123456789abcdef", user: "alice", description: "laptop", sha256: String(repeating: "ab", count: 32),
                          expiresAt: nil)),
        Event(TokenRevoked(id: "0123456789abcdef", user: "alice")),
        Event(AccessDenied(subject: "user:bob", method: "DELETE", path: "/v1/services/pay-api", permission: "owner in business line \"pay\"")),
        Event(ServiceCreated(name: "vault-app", businessLine: "pay", replicas: 1, domain: nil, revision: 1,
                             template: PodTemplate(image: "busybox", env: ["MODE": "prod"], secretEnv: ["DB_PASSWORD": sealed]))),
        Event(ServiceSecretRevealed(name: "vault-app", variable: "DB_PASSWORD", revision: 1, keyId: "k1764547200", sealed: sealed)),
        Event(NginxConfigValidated(cluster: "edge", version: 4, valid: true, message: "syntax is ok",
                                   signature: "0123456789abcdef:" + Data(repeating: 7, count: 64).base64EncodedString())),
        Event(CodeflowDefined(name: "pay-api", spec: codeflowSpec, webhookSecret: sealed, revision: 1)),
        Event(CodeflowDefined(name: "pay-api", spec: minimalSpec, webhookSecret: nil, revision: 2)),
        Event(BuildQueued(id: "0123456789abcdef0123", codeflow: "pay-api", spec: codeflowSpec, ref: "refs/heads/main", commit: String(repeating: "ab", count: 20),
                          trigger: BuildTrigger(source: .github, event: "push", delivery: "72d3162e-cc78", user: "octocat"), retryOf: nil)),
        Event(BuildQueued(id: "0123456789abcdef0124", codeflow: "pay-api", spec: minimalSpec, ref: "main", commit: nil,
                          trigger: BuildTrigger(source: .manual, user: "user:alice"), retryOf: "0123456789abcdef0123")),
        Event(BuildStarted(id: "0123456789abcdef0123", codeflow: "pay-api", runner: "build-1:4242:1764547200")),
        Event(BuildSucceeded(id: "0123456789abcdef0123", codeflow: "pay-api", service: "payments-api", commit: String(repeating: "ab", count: 20),
                             image: "127.0.0.1:5000/pay-api/payments-api:abababababab-0123456789ab", digest: "sha256:" + String(repeating: "cd", count: 32),
                             cacheHit: false, phases: ["fetch": 120, "script": 900])),
        Event(BuildFailed(id: "0123456789abcdef0124", codeflow: "pay-api", commit: nil, reason: "worker lost", cacheHit: nil, phases: [:])),
        Event(BuildCancelled(id: "0123456789abcdef0124", codeflow: "pay-api", wasRunning: true)),
        Event(WebhookIgnored(provider: "gitlab", delivery: "9f2c-11ee", event: "push", repository: "http://git.example.com/pay/api.git",
                             ref: "refs/heads/main", user: "jsmith", reason: "refs/heads/main was deleted")),
        Event(ServicePlacementSet(name: "payments-api", placement: ServicePlacement(clusters: ["prod-a"], selector: ["tier": "gold"], division: .aggregated),
                                  placementRevision: 1)),
        Event(ServicePlacementDecided(name: "payments-api", placementRevision: 2, replicas: 5, division: .dynamicWeight, inputs: placementInputs,
                                      result: ["prod-a": 3, "prod-b": 2])),
        Event(ServicePlacementSettled(name: "payments-api", result: ["prod-a": 3, "prod-b": 2])),
        Event(ServiceInstanceRotationSet(name: "payments-api", cluster: "prod-a", pod: "payments-api-7d9f8-x2kq4", inRotation: false)),
        Event(ServiceInstanceRecreateRequested(name: "payments-api", cluster: "prod-a", pod: "payments-api-7d9f8-x2kq4")),
        Event(ServiceDebugContainerRequested(name: "payments-api", cluster: "prod-a", pod: "payments-api-7d9f8-x2kq4", container: "debug-1a2b3c4d",
                                             image: "registry.example.com/tools/busybox:1.36")),
        Event(ServiceInstanceLogsRead(name: "payments-api", cluster: "prod-a", pod: "payments-api-7d9f8-x2kq4", container: nil, tailLines: 500,
                                      sinceSeconds: nil, follow: false)),
        Event(ServiceRolloutObserved(name: "payments-api", cluster: "prod-a", rollout: ServiceRollout(revision: 3, replicas: 4, updated: 4, ready: 3,
                                                                                                  available: 3, complete: false, reason: "ProgressDeadlineExceeded"))),
        Event(ServiceInstanceOperationFinished(name: "payments-api", operation: "0f9e8d7c-6b5a-4321-8765-43210fedcba9", cluster: "prod-a",
                                               pod: "payments-api-7d9f8-x2kq4", outcome: .failed, detail: "the pod is gone")),
        Event(ServiceInstancesObserved(name: "payments-api", cluster: "prod-a", instances: instances)),
        Event(ClusterRegistered(name: "prod-a", spec: clusterSpec, token: sealed)),
        Event(ClusterSchedulingChanged(name: "prod-a", scheduling: .cordoned)),
        Event(ClusterSchedulingChanged(name: "prod-a", scheduling: .draining)),
        Event(ClusterRemoved(name: "prod-a")),
        Event(ClusterHealthChanged(name: "prod-a", health: clusterHealth, wasHealthy: false)),
    ]

    static let codeflowSpec = CodeflowSpec(service: "payments-api", repository: "https://gitlab.example.com/pay/api.git", branches: ["main", "release/*"],
                                           buildScript: "make build", artifactPath: "dist", startCommand: "./server --port 8080",
                                           baseImage: "127.0.0.1:5000/wharf/base:busybox", dockerfile: "FROM scratch\n", preprocessScript: "pip install -r requirements.txt",
                                           dependencyFiles: ["requirements.txt"], timeoutSeconds: 600)
    static let minimalSpec = CodeflowSpec(service: "payments-api", repository: "git@gitlab.example.com:pay/api.git", branches: ["main"],
                                          buildScript: "true", artifactPath: "app", startCommand: "./app", baseImage: "127.0.0.1:5000/wharf/base:busybox")

    static let nginxUpstream = NginxUpstream(name: "shop", servers: [
        NginxUpstreamServer(address: "10.0.3.7:8080", weight: 5, maxFails: 3, failTimeoutSeconds: 10),
        NginxUpstreamServer(service: "payments-api"),
        NginxUpstreamServer(address: "app-vm.example.com:80", backup: true),
    ])
    static let nginxSite = NginxSite(name: "shop", serverNames: ["shop.example.com", "*.shop.example.com"], listen: 443,
                                     tls: NginxTLS(certificate: "/etc/nginx/tls/shop.crt", key: "/etc/nginx/tls/shop.key"),
                                     locations: [NginxLocation(path: "/", upstream: "shop",
                                                               canary: NginxCanary(upstream: "shop-canary", weightPercent: 10,
                                                                                   header: NginxMatch(name: "X-Canary", value: "always"),
                                                                                   cookie: NginxMatch(name: "canary", value: "1"))),
                                                 NginxLocation(path: "/api", upstream: "shop")],
                                     healthCheck: NginxHealthCheck(nextUpstreamOn: ["error", "timeout"], tries: 2, connectTimeoutSeconds: 3))
    static let nginxMembers = NginxServiceMembers(service: "payments-api", revision: 3, image: "registry.local/pay/api:1.1", addresses: ["10.0.3.7:8080"])

    /// The aggregate and causing command type of a sample event (the first, service samples all say CreateService).
    static func origin(of event: Event) -> (aggregate: String, commandType: String) {
        switch event.payload {
        case is ServiceAddressesSet: return ("service/payments-api", "SetServiceAddresses")
        case is NginxClusterCreated: return ("nginx-cluster/edge", "CreateNginxCluster")
        case is NginxNodeAdded: return ("nginx-cluster/edge", "AddNginxNode")
        case is NginxNodeRemoved: return ("nginx-cluster/edge", "RemoveNginxNode")
        case is NginxUpstreamPut: return ("nginx-cluster/edge", "PutNginxUpstream")
        case is NginxUpstreamDeleted: return ("nginx-cluster/edge", "DeleteNginxUpstream")
        case is NginxSitePut: return ("nginx-cluster/edge", "PutNginxSite")
        case is NginxSiteDeleted: return ("nginx-cluster/edge", "DeleteNginxSite")
        case is NginxConfigRolledBack, is NginxConfigVersionCreated: return ("nginx-cluster/edge", "RollbackNginxConfig")
        case is NginxServiceMembersSynced: return ("nginx-cluster/edge", "SyncNginxServiceMembers")
        case is NginxConfigValidated: return ("nginx-cluster/edge", "RecordNginxValidation")
        case is NginxNodeReported: return ("nginx-cluster/edge", "RecordNginxNodeReport")
        case let r as CommandRejected where r.commandType.contains("Nginx"): return ("nginx-cluster/edge", r.commandType)
        case let r as CommandRejected where r.commandType == "unknown": return ("garbage-key", "unknown")
        case let u as CommandUnchanged: return ("service/payments-api", u.commandType)
        case is UserCreated: return ("user/alice", "CreateUser")
        case is PlatformRolesSet: return ("user/alice", "SetPlatformRoles")
        case is UserDisabledSet: return ("user/alice", "SetUserDisabled")
        case is BusinessLineCreated: return ("business-line/pay", "CreateBusinessLine")
        case is MemberRoleSet: return ("business-line/pay", "SetMemberRole")
        case is MemberRemoved: return ("business-line/pay", "RemoveMember")
        case is TokenIssued: return ("token/0123456789abcdef", "IssueToken")
        case is TokenRevoked: return ("token/0123456789abcdef", "RevokeToken")
        case is AccessDenied: return ("access/user:bob", "RecordAccessDenied")
        case is ServiceSecretRevealed: return ("service/vault-app", "RevealServiceSecret")
        case is CodeflowDefined: return ("codeflow/pay-api", "PutCodeflow")
        case let e as BuildQueued: return ("build/\(e.id)", "RequestBuild")
        case let e as BuildStarted: return ("build/\(e.id)", "StartBuild")
        case let e as BuildSucceeded: return ("build/\(e.id)", "FinishBuild")
        case let e as BuildFailed: return ("build/\(e.id)", "FinishBuild")
        case let e as BuildCancelled: return ("build/\(e.id)", "CancelBuild")
        case let e as WebhookIgnored: return ("webhook/\(e.provider)-\(e.delivery)", "RecordWebhookIgnored")
        case is ServiceInstancesObserved: return ("service/payments-api", "RecordServiceInstances")
        case is ServicePlacementSet: return ("service/payments-api", "SetServicePlacement")
        case is ServicePlacementDecided: return ("service/payments-api", "RecordPlacementDecision")
        case is ServicePlacementSettled: return ("service/payments-api", "RecordServiceInstances")
        case is ServiceInstanceRotationSet: return ("service/payments-api", "SetInstanceRotation")
        case is ServiceInstanceRecreateRequested: return ("service/payments-api", "RecreateInstance")
        case is ServiceDebugContainerRequested: return ("service/payments-api", "AddDebugContainer")
        case is ServiceInstanceLogsRead: return ("service/payments-api", "ReadInstanceLogs")
        case is ServiceInstanceOperationFinished: return ("service/payments-api", "RecordInstanceOperation")
        case is ServiceRolloutObserved: return ("service/payments-api", "RecordServiceRollout")
        case is ClusterRegistered: return ("cluster/prod-a", "RegisterCluster")
        case let e as ClusterSchedulingChanged: return ("cluster/prod-a", e.scheduling == .draining ? "DrainCluster" : "CordonCluster")
        case is ClusterRemoved: return ("cluster/prod-a", "RemoveCluster")
        case is ClusterHealthChanged: return ("cluster/prod-a", "RecordClusterHealth")
        default: return ("service/payments-api", "CreateService")
        }
    }

    static func commandEnvelopes() -> [CommandEnvelope] {
        commands.enumerated().map { i, c in
            var envelope = CommandEnvelope(id: "cmd-\(i)", actor: "user:admin", time: "2026-11-27T09:30:00.123Z", correlationId: "corr-\(i)",
                                           causationId: i % 2 == 0 ? nil : "cause-\(i)", authorizedLine: i % 3 == 1 ? "pay" : nil, command: c)
            if i % 4 == 2 { envelope.auth = "k1764547200:" + Data(repeating: UInt8(i), count: 32).base64EncodedString() }
            return envelope
        }
    }

    static func eventEnvelopes() -> [EventEnvelope] {
        events.enumerated().map { i, e -> EventEnvelope in
            let o = Samples.origin(of: e)
            return EventEnvelope(id: "cmd-\(i)/0", aggregate: o.aggregate, actor: "user:admin", time: "2026-11-27T09:30:00.123Z",
                                 correlationId: "corr", causationId: "cmd-\(i)", commandType: o.commandType,
                                 commandPosition: LogPosition(partition: 7, offset: Int64(i)), event: e)
        }
    }
}

@Suite struct EnvelopeCodingTests {
    @Test func everyCommandTypeHasASample() {
        // The standard table (tests may register kinds of their own in the same process).
        let commandTypes = Set(Aggregates.standard.flatMap { $0.commandTypes.map { $0.type } })
        let eventTypes = Set(Aggregates.standard.flatMap { $0.eventTypes.map { $0.type } } + [CommandRejected.type, CommandUnchanged.type])
        #expect(Set(Samples.commands.map(\.type)) == commandTypes)
        #expect(Set(Samples.events.map(\.type)) == eventTypes)
        #expect(commandTypes.isSubset(of: Aggregates.commandTypeNames) && eventTypes.isSubset(of: Aggregates.eventTypeNames))
    }

    @Test func commandsRoundTrip() throws {
        for envelope in Samples.commandEnvelopes() {
            let text = try CanonicalJSON.encode(envelope)
            #expect(try CanonicalJSON.decode(CommandEnvelope.self, from: text) == envelope)
        }
    }

    @Test func eventsRoundTrip() throws {
        for envelope in Samples.eventEnvelopes() {
            let text = try CanonicalJSON.encode(envelope)
            #expect(try CanonicalJSON.decode(EventEnvelope.self, from: text) == envelope)
        }
    }

    @Test func canonicalJSONIsSortedAndStable() throws {
        let envelope = Samples.eventEnvelopes()[0]
        let a = try CanonicalJSON.encode(envelope), b = try CanonicalJSON.encode(envelope)
        #expect(a == b)
        #expect(a.hasPrefix(#"{"actor":"user:admin","aggregate":"service/payments-api","causationId":"cmd-0","commandPosition":{"offset":0,"partition":7}"#))
        #expect(!a.contains(" : ") && !a.contains("\n") && !a.contains(#"\/"#))
    }

    @Test func unknownTypeOrVersionIsRefused() {
        let unknownType = #"{"actor":"a","aggregate":"service/x","correlationId":"c","id":"1","payload":{},"schemaVersion":1,"time":"t","type":"Nope"}"#
        let futureVersion = #"{"actor":"a","aggregate":"service/x","correlationId":"c","id":"1","payload":{"name":"x"},"schemaVersion":9,"time":"t","type":"DestroyService"}"#
        #expect(throws: DecodingError.self) { try CanonicalJSON.decode(CommandEnvelope.self, from: unknownType) }
        #expect(throws: DecodingError.self) { try CanonicalJSON.decode(CommandEnvelope.self, from: futureVersion) }
    }
}
