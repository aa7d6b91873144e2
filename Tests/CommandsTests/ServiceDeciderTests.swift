import Foundation
import Commands
import Events
import Testing

/// The Service decider and fold, as pure functions.
@Suite struct ServiceDeciderTests {
    let create = Command(CreateService(name: "payments-api", businessLine: "pay", image: "reg.local/pay/api:1", replicas: 2))

    /// Decides and folds a sequence of commands; returns the final state and each outcome.
    func run(_ commands: [Command]) -> (ServiceState?, [Result<[Event], Rejection>]) {
        var state: ServiceState?
        var outcomes: [Result<[Event], Rejection>] = []
        for (i, command) in commands.enumerated() {
            let result = ServiceDecider.decide(command, state: state)
            outcomes.append(result)
            if case .success(let events) = result {
                for e in events {
                    state = ServiceState.evolve(state, EventEnvelope(id: "\(i)", aggregate: command.aggregate, actor: "user:t", time: "2026-11-27T00:00:00.000Z",
                                                                     correlationId: "c", causationId: "\(i)", commandType: command.type,
                                                                     commandPosition: LogPosition(partition: 0, offset: Int64(i)), event: e))
                }
            }
        }
        return (state, outcomes)
    }

    func code(_ r: Result<[Event], Rejection>) -> RejectionCode? {
        if case .failure(let rejection) = r { return rejection.code }
        return nil
    }

    @Test func createUpgradeScaleRollback() throws {
        let (state, outcomes) = run([
            create,
            Command(ScaleService(name: "payments-api", replicas: 5)),
            Command(UpgradeServiceImage(name: "payments-api", image: "reg.local/pay/api:2")),
            Command(RollbackService(name: "payments-api", revision: 1)),
        ])
        #expect(outcomes.allSatisfy { code($0) == nil })
        let s = try #require(state)
        #expect(s.template.image == "reg.local/pay/api:1")
        #expect(s.replicas == 5)
        #expect(s.revision == 3, "create=1, upgrade=2, rollback=3; scaling is not a revision")
        #expect(s.revisions.keys.sorted() == [1, 2, 3])
        guard case .success(let events) = outcomes[3], let rb = events.first?.as(ServiceRolledBack.self) else {
            Issue.record("rollback did not produce ServiceRolledBack"); return
        }
        #expect(rb.toRevision == 1 && rb.revision == 3)
    }

    /// A sealed-looking value; the decider checks the form only (it holds no key).
    static func sealed(_ tag: UInt8) -> String {
        SealedSecret(keyId: "k1", combined: Data(repeating: tag, count: 40)).text
    }

    @Test func secretVariablesAreSealedMergedRemovedAndRevealedOnlyWhenTheyExist() throws {
        let a = Self.sealed(1), b = Self.sealed(2), c = Self.sealed(3)
        let (state, outcomes) = run([
            Command(CreateService(name: "payments-api", businessLine: "pay", image: "reg.local/pay/api:1", replicas: 2,
                                  env: ["MODE": "prod"], secretEnv: ["DB_PASSWORD": a, "API_KEY": b])),
            Command(UpdateServiceConfig(name: "payments-api", secretEnv: ["DB_PASSWORD": c], removeSecretEnv: ["API_KEY"])),
            Command(RevealServiceSecret(name: "payments-api", variable: "DB_PASSWORD")),
            Command(RevealServiceSecret(name: "payments-api", variable: "API_KEY")),
            Command(UpdateServiceConfig(name: "payments-api", env: ["MODE": "prod", "DB_PASSWORD": "plain"])),
            Command(UpdateServiceConfig(name: "payments-api", removeSecretEnv: ["NOPE"])),
            Command(UpdateServiceConfig(name: "payments-api", secretEnv: ["X": "not-sealed"])),
            Command(RollbackService(name: "payments-api", revision: 1)),
        ])
        let s = try #require(state)
        #expect(code(outcomes[1]) == nil && code(outcomes[2]) == nil)
        guard case .success(let revealed) = outcomes[2], let event = revealed.first?.payload as? ServiceSecretRevealed else {
            Issue.record("the reveal is an event"); return
        }
        #expect(event.sealed == c && event.keyId == "k1" && event.revision == 2, "the current sealed value, from the state")
        #expect(code(outcomes[3]) == .notFound, "removed")
        #expect(code(outcomes[4]) == .invalid, "a name in both env and secretEnv")
        #expect(code(outcomes[5]) == .invalid, "removing what is not there")
        #expect(code(outcomes[6]) == .invalid, "a plain value in a command")
        #expect(s.template.secretEnv == ["DB_PASSWORD": a, "API_KEY": b] && s.revision == 3, "rollback restored revision 1's sealed values")
        // A reveal changes nothing.
        #expect(s.revisions.count == 3)
    }

    /// The processor's re-check of the line the API authorized: the log's line wins over a read model's.
    @Test func aCommandAuthorizedForAnotherLineIsRefused() throws {
        var states = AggregateStates()
        guard case .success(let created) = states.decide(create, authorizedLine: "pay") else { Issue.record("create in its own line"); return }
        for (i, e) in created.enumerated() {
            states.evolve(EventEnvelope(id: "c/\(i)", aggregate: create.aggregate, actor: "user:t", time: "2026-11-27T00:00:00.000Z",
                                        correlationId: "c", causationId: "c", commandType: create.type,
                                        commandPosition: LogPosition(partition: 0, offset: 0), event: e))
        }
        let scale = Command(ScaleService(name: "payments-api", replicas: 5))
        guard case .failure(let refused) = states.decide(scale, authorizedLine: "shop") else { Issue.record("authorized for shop"); return }
        #expect(refused.code == .conflict && refused.reason.contains("\"pay\" in the log"), "\(refused.reason)")
        #expect(code(states.decide(scale, authorizedLine: "pay")) == nil)
        #expect(code(states.decide(scale)) == nil, "admins carry no line")
        let elsewhere = Command(CreateService(name: "other", businessLine: "pay", image: "reg.local/a:1", replicas: 1))
        #expect(code(states.decide(elsewhere, authorizedLine: "shop")) == .conflict, "a create in a line other than the authorized one")
    }

    @Test func refusals() {
        let (_, outcomes) = run([
            Command(ScaleService(name: "ghost", replicas: 2)),                      // unknown
            create,
            create,                                                                      // exists
            Command(RollbackService(name: "payments-api", revision: 7)),        // no such revision
            Command(RollbackService(name: "payments-api", revision: 1)),        // already there
            Command(ScaleService(name: "payments-api", replicas: 2)),              // no change
            Command(DestroyService(name: "payments-api")),
            Command(UpgradeServiceImage(name: "payments-api", image: "a:2")), // destroyed
            create,                                                                      // name reserved
        ])
        // A rollback to the revision it is at and a scale to the replicas it has hold already: unchanged, not refused.
        #expect(outcomes.map(outcome) == ["not_found", "accepted", "conflict", "invalid", "unchanged", "unchanged", "accepted", "conflict", "conflict"])
    }

    @Test func configUpdateMakesARevisionOnlyWhenTheTemplateChanges() throws {
        let (state, outcomes) = run([
            create,
            Command(UpdateServiceConfig(name: "payments-api", domain: "pay.example.com")),
            Command(UpdateServiceConfig(name: "payments-api", env: ["A": "1"])),
            Command(UpdateServiceConfig(name: "payments-api", env: ["A": "1"])),
        ])
        #expect(outcomes.map(outcome) == ["accepted", "accepted", "accepted", "unchanged"])
        let s = try #require(state)
        #expect(s.revision == 2 && s.domain == "pay.example.com" && s.template.env == ["A": "1"])
    }

    @Test func invalidInputIsRejectedAsInvalidEvenPastTheDoor() {
        let bad = Command(CreateService(name: "Payments_API", businessLine: "pay", image: "x", replicas: -1))
        let result = ServiceDecider.decide(bad, state: nil)
        #expect(code(result) == .invalid)
    }
}

@Suite struct ServiceValidationTests {
    @Test(arguments: ["a", "payments-api", "a1", String(repeating: "a", count: 63)])
    func validNames(_ name: String) { #expect(ServiceValidation.isDNSLabel(name)) }

    @Test(arguments: ["", "-a", "a-", "A", "a_b", "a.b", "a b", "ä", String(repeating: "a", count: 64), "a;rm", "a\nb"])
    func invalidNames(_ name: String) { #expect(!ServiceValidation.isDNSLabel(name)) }

    @Test(arguments: ["busybox", "busybox:1.36", "reg.local/team/app:1.0", "localhost:5000/a/b:latest", "127.0.0.1:5000/ns/app:v1-rc.1",
                      "a/b@sha256:" + String(repeating: "a", count: 64), "my_org/my__app"])
    func validImages(_ image: String) { #expect(ServiceValidation.isImageReference(image)) }

    @Test(arguments: ["", "UPPER/app", "a//b", "a:", "a b", "a;b", "-a", "a/b:tag with space", "a@sha256:zz", "reg.local:99999/a"])
    func invalidImages(_ image: String) { #expect(!ServiceValidation.isImageReference(image)) }

    @Test func fieldErrorsNameTheField() {
        let errors = ServiceValidation.validate(Command(CreateService(
            name: "ok", businessLine: "pay", image: "a:1", replicas: 5000, env: ["1BAD": "x"],
            ports: [ServicePort(containerPort: 0), ServicePort(containerPort: 80, protocol: "SCTP")],
            healthCheck: HealthCheck(path: "no-slash", port: 80), domain: "Bad..Domain")))
        let fields = Set(errors.map(\.field))
        #expect(fields.isSuperset(of: ["replicas", "env", "ports[0].containerPort", "ports[1].protocol", "healthCheck.path", "domain"]))
    }
}
