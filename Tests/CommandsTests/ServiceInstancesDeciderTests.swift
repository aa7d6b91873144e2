import Commands
import Events
import Foundation
import Testing

/// Pods reported per cluster become the service's live members: ready ones with an IP, cluster by cluster.
@Suite struct ServiceInstancesDeciderTests {
    @Test func readyPodsOfEveryClusterAreTheMembers() {
        let create = Command(CreateService(name: "api", businessLine: "pay", image: "reg.local/api:1", replicas: 3, ports: [ServicePort(containerPort: 8080)]))
        var state: ServiceState?
        func decide(_ command: Command) -> Result<[Event], Rejection> {
            let result = ServiceDecider.decide(command, state: state)
            if case .success(let events) = result {
                for e in events {
                    state = ServiceState.evolve(state, EventEnvelope(id: "e", aggregate: command.aggregate, actor: "system:cluster", time: "2026-12-03T00:00:00.000Z",
                                                                     correlationId: "c", causationId: "x", commandType: command.type,
                                                                     commandPosition: LogPosition(partition: 0, offset: 0), event: e))
                }
            }
            return result
        }
        _ = decide(create)
        let a = [ServiceInstance(pod: "api-1", ip: "10.1.0.2", node: "n1", phase: "Running", ready: true),
                 ServiceInstance(pod: "api-2", ip: "10.1.0.3", node: "n1", phase: "Running", ready: false),
                 ServiceInstance(pod: "api-3", phase: "Pending", ready: false, reason: "Unschedulable")]
        guard case .success(let first) = decide(Command(RecordServiceInstances(name: "api", cluster: "a", instances: a))) else { Issue.record("refused"); return }
        #expect(first.compactMap { $0.as(ServiceAddressesSet.self)?.addresses } == [["10.1.0.2:8080"]])
        #expect(outcome(decide(Command(RecordServiceInstances(name: "api", cluster: "a", instances: a)))) == "unchanged", "the same report again")
        _ = decide(Command(RecordServiceInstances(name: "api", cluster: "b", instances: [ServiceInstance(pod: "api-9", ip: "fd00::9", phase: "Running", ready: true)])))
        #expect(state?.addresses == ["10.1.0.2:8080", "[fd00::9]:8080"])
        _ = decide(Command(RecordServiceInstances(name: "api", cluster: "a", instances: [])))
        #expect(state?.addresses == ["[fd00::9]:8080"] && state?.instances?["a"] == nil)
        // Unsorted pods and a bad IP are refused at the door.
        let bad = ServiceValidation.validate(Command(RecordServiceInstances(name: "api", cluster: "a", instances: [
            ServiceInstance(pod: "b", ip: "10.0.0.1", phase: "Running", ready: true), ServiceInstance(pod: "a", ip: "not-an-ip", phase: "Running", ready: true)])))
        #expect(Set(bad.map(\.field)) == ["instances[1].ip", "instances"], "\(bad)")
    }

    /// A move starts replicas before it stops any: a failed cluster's members stay until every new share is ready
    /// (`ServicePlacementSettled`), the cluster's pods are then forgotten, and on its return the others shrink only
    /// once it has been seen afresh with its share ready. The members never drop below the replicas.
    @Test func aMoveKeepsTheMembersUntilTheReplacementsAreReady() throws {
        var state: ServiceState?
        var events: [Event] = []
        func decide(_ command: Command) throws {
            guard case .success(let out) = ServiceDecider.decide(command, state: state) else { throw Refused(command: command.type) }
            events = out
            for e in out {
                state = ServiceState.evolve(state, EventEnvelope(id: "e", aggregate: command.aggregate, actor: "system:placement", time: "2026-12-06T00:00:00.000Z",
                                                                 correlationId: "c", causationId: "x", commandType: command.type,
                                                                 commandPosition: LogPosition(partition: 0, offset: 0), event: e))
            }
            #expect(state?.addresses.count ?? 0 >= 6 || state?.placementSettled == nil, "members dropped to \(state?.addresses ?? []) after \(command.type)")
        }
        func pods(_ cluster: String, _ n: Int, ready: Int? = nil) -> Command {
            Command(RecordServiceInstances(name: "api", cluster: cluster, instances: (0..<n).map {
                ServiceInstance(pod: "api-\(cluster)-\($0)", ip: "10.\(cluster.unicodeScalars.first!.value - 96).0.\($0 + 2)", phase: "Running", ready: $0 < (ready ?? n))
            }))
        }
        func decision(_ states: [String: String], previous: [String: Int], revision: Int = 1) throws -> [String: Int] {
            let inputs = ["a", "b", "c"].map { PlacementInput(cluster: $0, state: states[$0] ?? "active", weight: 1, previous: previous[$0] ?? 0) }
            let placement = ServicePlacement(clusters: ["a", "b", "c"], division: .staticWeight)
            let result = try PlacementDivider.divide(6, placement: placement, inputs: inputs)
            try decide(Command(RecordPlacementDecision(name: "api", placementRevision: revision, replicas: 6, inputs: inputs, result: result)))
            return result
        }
        func settled() -> [String: Int]? { events.compactMap { $0.as(ServicePlacementSettled.self)?.result }.first }
        func members(of cluster: String) -> Int { state?.addresses.filter { $0.hasPrefix("10.\(cluster.unicodeScalars.first!.value - 96).") }.count ?? 0 }

        try decide(Command(CreateService(name: "api", businessLine: "pay", image: "reg.local/api:1", replicas: 6, ports: [ServicePort(containerPort: 8080)])))
        try decide(Command(SetServicePlacement(name: "api", placement: ServicePlacement(clusters: ["a", "b", "c"], division: .staticWeight))))
        let even = try decision([:], previous: [:])
        #expect(even == ["a": 2, "b": 2, "c": 2] && settled() == nil)
        try decide(pods("a", 2)); try decide(pods("b", 2))
        #expect(settled() == nil, "c has no ready pods yet")
        try decide(pods("c", 2))
        #expect(settled() == even && state?.addresses.count == 6)

        // c fails: a and b take its share, and c's members stay until both have theirs ready.
        let withoutC = try decision(["c": "unhealthy"], previous: even)
        #expect(withoutC == ["a": 3, "b": 3] && settled() == nil && members(of: "c") == 2)
        #expect(PlacementShares.running(result: withoutC, settled: state?.placementSettled) == ["a": 3, "b": 3, "c": 2])
        try decide(pods("a", 3))
        #expect(settled() == nil && members(of: "c") == 2 && state?.addresses.count == 7)
        // Nginx serves the first `replicas` members: the division's clusters come first, the held ones last.
        #expect(state?.addresses.prefix(5).allSatisfy { !$0.hasPrefix("10.3.") } == true && state?.addresses.last?.hasPrefix("10.3.") == true,
                "\(state?.addresses ?? [])")
        try decide(pods("b", 3, ready: 2))
        #expect(settled() == nil && members(of: "c") == 2, "one of b's is not ready yet")
        try decide(pods("b", 3))
        #expect(settled() == withoutC && members(of: "c") == 0 && state?.addresses.count == 6)
        #expect(state?.instances?["c"] == nil, "c's pods are forgotten once the move is over")

        // c returns: the same division as before, but a and b keep 3 each until c is seen with its 2 ready.
        let back = try decision([:], previous: withoutC)
        #expect(back == even && settled() == nil)
        #expect(PlacementShares.running(result: back, settled: state?.placementSettled) == ["a": 3, "b": 3, "c": 2])
        try decide(pods("c", 2, ready: 1))
        #expect(settled() == nil && members(of: "c") == 1 && state?.addresses.count == 7)
        try decide(pods("c", 2))
        #expect(settled() == even && state?.addresses.count == 8, "a and b shrink after this, by their own reports")
        try decide(pods("a", 2)); try decide(pods("b", 2))
        #expect(state?.addresses.count == 6)
    }

    struct Refused: Error { var command: String }

    /// One pod out of the load balancer: it keeps running but leaves the members; back in, it returns; a pod that
    /// is not running is refused (404), a repeat is a conflict, and a pod that goes drops out of the list.
    @Test func aPodTakenOutOfRotationLeavesTheMembersUntilPutBack() {
        var state: ServiceState?
        func decide(_ command: Command) -> Result<[Event], Rejection> {
            let result = ServiceDecider.decide(command, state: state)
            if case .success(let events) = result {
                for e in events {
                    state = ServiceState.evolve(state, EventEnvelope(id: "e", aggregate: command.aggregate, actor: "user:dev", time: "2026-12-06T00:00:00.000Z",
                                                                     correlationId: "c", causationId: "x", commandType: command.type,
                                                                     commandPosition: LogPosition(partition: 0, offset: 0), event: e))
                }
            }
            return result
        }
        func code(_ r: Result<[Event], Rejection>) -> RejectionCode? { if case .failure(let f) = r { return f.code }; return nil }
        _ = decide(Command(CreateService(name: "api", businessLine: "pay", image: "reg.local/api:1", replicas: 2, ports: [ServicePort(containerPort: 8080)])))
        let pods = [ServiceInstance(pod: "api-1", ip: "10.1.0.2", phase: "Running", ready: true), ServiceInstance(pod: "api-2", ip: "10.1.0.3", phase: "Running", ready: true)]
        _ = decide(Command(RecordServiceInstances(name: "api", cluster: "a", instances: pods)))
        #expect(state?.addresses == ["10.1.0.2:8080", "10.1.0.3:8080"])
        #expect(code(decide(Command(SetInstanceRotation(name: "api", cluster: "a", pod: "api-9", inRotation: false)))) == .notFound)
        #expect(code(decide(Command(SetInstanceRotation(name: "api", cluster: "b", pod: "api-1", inRotation: false)))) == .notFound)
        #expect(outcome(decide(Command(SetInstanceRotation(name: "api", cluster: "a", pod: "api-1", inRotation: true)))) == "unchanged", "in already")
        _ = decide(Command(SetInstanceRotation(name: "api", cluster: "a", pod: "api-1", inRotation: false)))
        #expect(state?.addresses == ["10.1.0.3:8080"] && state?.outOfRotation == ["a": ["api-1"]])
        #expect(outcome(decide(Command(SetInstanceRotation(name: "api", cluster: "a", pod: "api-1", inRotation: false)))) == "unchanged", "out already")
        // A new report of the same pods keeps it out; back in, it is a member again.
        _ = decide(Command(RecordServiceInstances(name: "api", cluster: "a", instances: pods.map { var p = $0; p.restarts = 1; return p })))
        #expect(state?.addresses == ["10.1.0.3:8080"])
        _ = decide(Command(SetInstanceRotation(name: "api", cluster: "a", pod: "api-1", inRotation: true)))
        #expect(state?.addresses == ["10.1.0.2:8080", "10.1.0.3:8080"] && state?.outOfRotation?["a"] == nil)
        // Out again, then the pod goes: it drops out of the list.
        _ = decide(Command(SetInstanceRotation(name: "api", cluster: "a", pod: "api-1", inRotation: false)))
        _ = decide(Command(RecordServiceInstances(name: "api", cluster: "a", instances: [pods[1]])))
        #expect(state?.outOfRotation?["a"] == nil && state?.addresses == ["10.1.0.3:8080"])
        let bad = ServiceValidation.validate(Command(SetInstanceRotation(name: "api", cluster: "a", pod: "Not_A_Pod", inRotation: false)))
        #expect(bad.map(\.field) == ["pod"])
    }
}
