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
        if case .success = decide(Command(RecordServiceInstances(name: "api", cluster: "a", instances: a))) { Issue.record("an unchanged report was accepted") }
        _ = decide(Command(RecordServiceInstances(name: "api", cluster: "b", instances: [ServiceInstance(pod: "api-9", ip: "fd00::9", phase: "Running", ready: true)])))
        #expect(state?.addresses == ["10.1.0.2:8080", "[fd00::9]:8080"])
        _ = decide(Command(RecordServiceInstances(name: "api", cluster: "a", instances: [])))
        #expect(state?.addresses == ["[fd00::9]:8080"] && state?.instances?["a"] == nil)
        // Unsorted pods and a bad IP are refused at the door.
        let bad = ServiceValidation.validate(Command(RecordServiceInstances(name: "api", cluster: "a", instances: [
            ServiceInstance(pod: "b", ip: "10.0.0.1", phase: "Running", ready: true), ServiceInstance(pod: "a", ip: "not-an-ip", phase: "Running", ready: true)])))
        #expect(Set(bad.map(\.field)) == ["instances[1].ip", "instances"], "\(bad)")
    }
}
