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
    ]

    static func commandEnvelopes() -> [CommandEnvelope] {
        commands.enumerated().map { i, c in
            CommandEnvelope(id: "cmd-\(i)", actor: "user:admin", time: "2026-11-27T09:30:00.123Z", correlationId: "corr-\(i)",
                            causationId: i % 2 == 0 ? nil : "cause-\(i)", command: c)
        }
    }

    static func eventEnvelopes() -> [EventEnvelope] {
        events.enumerated().map { i, e in
            EventEnvelope(id: "cmd-\(i)/0", aggregate: "service/payments-api", actor: "user:admin", time: "2026-11-27T09:30:00.123Z",
                          correlationId: "corr", causationId: "cmd-\(i)", commandType: "CreateService",
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
