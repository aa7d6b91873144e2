import Commands
import Events
import Foundation
import Testing

/// The cluster decider and fold, as pure functions.
@Suite struct ClusterDeciderTests {
    static let sealed = SealedSecret(keyId: "k1", combined: Data(count: 40)).text
    static let spec = ClusterSpec(apiServer: "https://127.0.0.1:6443", environment: .test, labels: ["tier": "gold"])
    static let healthy = ClusterHealth(reachable: true, nodesReady: 3, nodesTotal: 3, allocatableCPUMillis: 12_000, allocatableMemoryBytes: 1 << 34,
                                       requestedCPUMillis: 0, requestedMemoryBytes: 0)

    func run(_ commands: [Command]) -> (ClusterState?, [Result<[Event], Rejection>]) {
        var state: ClusterState?
        var outcomes: [Result<[Event], Rejection>] = []
        for (i, command) in commands.enumerated() {
            let result = ClusterAggregate.decide(command, state: state)
            outcomes.append(result)
            if case .success(let events) = result {
                for e in events {
                    state = ClusterAggregate.evolve(state, EventEnvelope(id: "\(i)", aggregate: command.aggregate, actor: "user:op", time: "2026-12-03T00:00:00.000Z",
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

    @Test func registerCordonDrainHealthRemove() {
        let (state, outcomes) = run([
            Command(RegisterCluster(name: "a", spec: Self.spec, token: Self.sealed)),
            Command(RegisterCluster(name: "a", spec: Self.spec, token: Self.sealed)),
            Command(CordonCluster(name: "a")),
            Command(CordonCluster(name: "a")),
            Command(DrainCluster(name: "a")),
            Command(UncordonCluster(name: "a")),
            Command(RecordClusterHealth(name: "a", health: Self.healthy)),
            Command(RecordClusterHealth(name: "a", health: Self.healthy)),
            Command(RemoveCluster(name: "a")),
            Command(CordonCluster(name: "a")),
            Command(RegisterCluster(name: "a", spec: Self.spec, token: Self.sealed)),
        ])
        // A second cordon and a repeated health report hold already (unchanged); a second registration is a conflict.
        #expect(outcomes.map(outcome) == ["accepted", "conflict", "accepted", "unchanged", "accepted", "accepted", "accepted", "unchanged", "accepted",
                                          "not_found", "accepted"])
        #expect(state?.scheduling == .active && state?.removed == false && state?.health == nil, "registered again after removal starts over")
        if case .success(let events) = outcomes[6] {
            #expect(events.first?.as(ClusterHealthChanged.self)?.wasHealthy == false)
        } else { Issue.record("the first health report was refused") }
    }

    @Test func plainTokensAndBadFieldsAreRefused() {
        let plain = ClusterAggregate.decide(Command(RegisterCluster(name: "a", spec: Self.spec, token: "plain-token")), state: nil)
        #expect(code(plain) == .invalid)
        for (spec, field) in [
            (ClusterSpec(apiServer: "http://k8s:6443", environment: .test), "apiServer"),
            (ClusterSpec(apiServer: "https://k8s:6443?a=b", environment: .test), "apiServer"),
            (ClusterSpec(apiServer: "https://k8s:6443", caBundle: "nope", environment: .test), "caBundle"),
            (ClusterSpec(apiServer: "https://k8s:6443", environment: .test, region: "EU West"), "region"),
            (ClusterSpec(apiServer: "https://k8s:6443", environment: .test, labels: ["-bad": "x"]), "labels"),
            (ClusterSpec(apiServer: "https://k8s:6443", environment: .test, labels: ["ok": "bad value"]), "labels.ok"),
        ] {
            let errors = ClusterValidation.validate(Command(RegisterCluster(name: "a", spec: spec, token: Self.sealed)))
            #expect(errors.map(\.field) == [field], "\(spec)")
        }
        let health = ClusterHealth(reachable: true, nodesReady: 4, nodesTotal: 3, allocatableCPUMillis: 0, allocatableMemoryBytes: 0,
                                   requestedCPUMillis: 0, requestedMemoryBytes: 0)
        #expect(ClusterValidation.validate(Command(RecordClusterHealth(name: "a", health: health))).map(\.field) == ["health.nodesReady"])
    }
}
