import Events
import Foundation
import Testing

/// One sample of every command and event type, used here and by the schema test.
enum Samples {
    static let template = PodTemplate(image: "registry.local/pay/api:1.0", env: ["MODE": "prod", "A_B": "x/y"],
                                      ports: [ServicePort(name: "http", containerPort: 8080), ServicePort(containerPort: 53, protocol: "UDP")],
                                      healthCheck: HealthCheck(path: "/healthz", port: 8080))

    static let commands: [Command] = [
        .createService(CreateService(name: "payments-api", businessLine: "pay", image: "registry.local/pay/api:1.0", replicas: 2,
                                     env: ["MODE": "prod"], ports: [ServicePort(containerPort: 8080)],
                                     healthCheck: HealthCheck(path: "/healthz", port: 8080), domain: "pay.example.com")),
        .createService(CreateService(name: "minimal", businessLine: "pay", image: "busybox", replicas: 0)),
        .updateServiceConfig(UpdateServiceConfig(name: "payments-api", env: ["MODE": "test"], clearHealthCheck: true)),
        .updateServiceConfig(UpdateServiceConfig(name: "payments-api", ports: [ServicePort(name: "dns", containerPort: 53, protocol: "UDP")],
                                                 healthCheck: HealthCheck(path: "/ready", port: 53, initialDelaySeconds: 5, periodSeconds: 30),
                                                 domain: "pay.example.com", clearDomain: false)),
        .upgradeServiceImage(UpgradeServiceImage(name: "payments-api", image: "registry.local/pay/api:1.1")),
        .scaleService(ScaleService(name: "payments-api", replicas: 5)),
        .rollbackService(RollbackService(name: "payments-api", revision: 1)),
        .destroyService(DestroyService(name: "payments-api")),
        .setServiceAddresses(SetServiceAddresses(name: "payments-api", addresses: ["10.0.3.7:8080", "[fd00::7]:8080"])),
        .createNginxCluster(CreateNginxCluster(name: "edge", environment: .test,
                                               nodes: [NginxNode(name: "ng-1", listenAddress: "10.0.0.11"), NginxNode(name: "ng-2")],
                                               upstreams: [nginxUpstream, NginxUpstream(name: "shop-canary", servers: [NginxUpstreamServer(address: "10.0.3.8:8080", down: true)])],
                                               sites: [nginxSite], testDomain: NginxTestDomain(wildcard: "test.example.com", listen: 80), reason: "initial")),
        .addNginxNode(AddNginxNode(cluster: "edge", node: NginxNode(name: "ng-3", listenAddress: "fd00::3"))),
        .removeNginxNode(RemoveNginxNode(cluster: "edge", node: "ng-2")),
        .putNginxUpstream(PutNginxUpstream(cluster: "edge", upstream: nginxUpstream, reason: "add a backend")),
        .deleteNginxUpstream(DeleteNginxUpstream(cluster: "edge", name: "shop-canary")),
        .putNginxSite(PutNginxSite(cluster: "edge", site: nginxSite)),
        .deleteNginxSite(DeleteNginxSite(cluster: "edge", name: "shop", reason: "retired")),
        .rollbackNginxConfig(RollbackNginxConfig(cluster: "edge", version: 2, reason: "bad canary")),
        .syncNginxServiceMembers(SyncNginxServiceMembers(cluster: "edge", members: nginxMembers)),
        .recordNginxValidation(RecordNginxValidation(cluster: "edge", version: 3, valid: false, message: "nginx: [emerg] unknown directive \"x\"")),
        .recordNginxNodeReport(RecordNginxNodeReport(cluster: "edge", node: "ng-1", version: 3, outcome: .drift, message: "live file changed by hand",
                                                     liveSha256: String(repeating: "ab", count: 32))),
    ]

    static let events: [Event] = [
        .serviceCreated(ServiceCreated(name: "payments-api", businessLine: "pay", replicas: 2, domain: "pay.example.com", revision: 1, template: template)),
        .serviceCreated(ServiceCreated(name: "minimal", businessLine: "pay", replicas: 0, domain: nil, revision: 1,
                                       template: PodTemplate(image: "busybox"))),
        .serviceConfigUpdated(ServiceConfigUpdated(name: "payments-api", revision: 2, template: template, domain: nil)),
        .serviceImageUpgraded(ServiceImageUpgraded(name: "payments-api", previousImage: "a:1", revision: 3, template: template)),
        .serviceScaled(ServiceScaled(name: "payments-api", previousReplicas: 2, replicas: 5)),
        .serviceRolledBack(ServiceRolledBack(name: "payments-api", toRevision: 1, revision: 4, template: template)),
        .serviceDestroyed(ServiceDestroyed(name: "payments-api")),
        .commandRejected(CommandRejected(commandType: "ScaleService", code: .notFound, reason: "service \"x\" does not exist")),
        .serviceAddressesSet(ServiceAddressesSet(name: "payments-api", addresses: ["10.0.3.7:8080"])),
        .nginxClusterCreated(NginxClusterCreated(name: "edge", environment: .prod, nodes: [NginxNode(name: "ng-1")], upstreams: [nginxUpstream],
                                                 sites: [nginxSite], testDomain: nil)),
        .nginxNodeAdded(NginxNodeAdded(cluster: "edge", node: NginxNode(name: "ng-3", listenAddress: "10.0.0.13"))),
        .nginxNodeRemoved(NginxNodeRemoved(cluster: "edge", node: "ng-2")),
        .nginxUpstreamPut(NginxUpstreamPut(cluster: "edge", upstream: nginxUpstream)),
        .nginxUpstreamDeleted(NginxUpstreamDeleted(cluster: "edge", name: "shop-canary")),
        .nginxSitePut(NginxSitePut(cluster: "edge", site: nginxSite)),
        .nginxSiteDeleted(NginxSiteDeleted(cluster: "edge", name: "shop")),
        .nginxConfigRolledBack(NginxConfigRolledBack(cluster: "edge", toVersion: 1, upstreams: [nginxUpstream], sites: [nginxSite])),
        .nginxServiceMembersSynced(NginxServiceMembersSynced(cluster: "edge", members: nginxMembers)),
        .nginxConfigVersionCreated(NginxConfigVersionCreated(cluster: "edge", version: 3, reason: "rollback to version 1",
                                                             text: "upstream shop {\n    server 10.0.3.7:8080;\n}\n",
                                                             sha256: String(repeating: "0f", count: 32),
                                                             diff: "@@ -1 +1 @@\n-a\n+b\n", rolledBackTo: 1)),
        .nginxConfigValidated(NginxConfigValidated(cluster: "edge", version: 3, valid: true, message: "syntax is ok")),
        .nginxNodeReported(NginxNodeReported(cluster: "edge", node: "ng-1", version: 3, outcome: .applied, message: "reloaded", liveSha256: nil)),
        .commandRejected(CommandRejected(commandType: "PutNginxSite", code: .invalid, reason: "sites[0].serverNames[0]: not a server name")),
        .commandRejected(CommandRejected(commandType: "unknown", code: .invalid, reason: "undecodable command record")),
    ]

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
        switch event {
        case .serviceAddressesSet: return ("service/payments-api", "SetServiceAddresses")
        case .nginxClusterCreated: return ("nginx-cluster/edge", "CreateNginxCluster")
        case .nginxNodeAdded: return ("nginx-cluster/edge", "AddNginxNode")
        case .nginxNodeRemoved: return ("nginx-cluster/edge", "RemoveNginxNode")
        case .nginxUpstreamPut: return ("nginx-cluster/edge", "PutNginxUpstream")
        case .nginxUpstreamDeleted: return ("nginx-cluster/edge", "DeleteNginxUpstream")
        case .nginxSitePut: return ("nginx-cluster/edge", "PutNginxSite")
        case .nginxSiteDeleted: return ("nginx-cluster/edge", "DeleteNginxSite")
        case .nginxConfigRolledBack, .nginxConfigVersionCreated: return ("nginx-cluster/edge", "RollbackNginxConfig")
        case .nginxServiceMembersSynced: return ("nginx-cluster/edge", "SyncNginxServiceMembers")
        case .nginxConfigValidated: return ("nginx-cluster/edge", "RecordNginxValidation")
        case .nginxNodeReported: return ("nginx-cluster/edge", "RecordNginxNodeReport")
        case .commandRejected(let r) where r.commandType.contains("Nginx"): return ("nginx-cluster/edge", r.commandType)
        case .commandRejected(let r) where r.commandType == "unknown": return ("garbage-key", "unknown")
        default: return ("service/payments-api", "CreateService")
        }
    }

    static func commandEnvelopes() -> [CommandEnvelope] {
        commands.enumerated().map { i, c in
            CommandEnvelope(id: "cmd-\(i)", actor: "user:admin", time: "2026-11-27T09:30:00.123Z", correlationId: "corr-\(i)",
                            causationId: i % 2 == 0 ? nil : "cause-\(i)", command: c)
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
        #expect(Set(Samples.commands.map(\.type)) == Set(Command.allTypes))
        #expect(Set(Samples.events.map(\.type)) == Set(Event.allTypes))
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
