import Commands
import Events
import Testing

/// The decider holds the scheduler to gradual moves: a step is accepted only as `PlacementDivider.decide` gives it
/// and only once the last move has settled; a failover is never held back.
@Suite struct PlacementStepDeciderTests {
    static let placement = ServicePlacement(clusters: ["a", "b", "c"], division: .staticWeight)

    func decision(_ previous: [String: Int], states: [String: String] = [:], result: [String: Int]? = nil) throws -> Command {
        let inputs = ["a", "b", "c"].map { PlacementInput(cluster: $0, state: states[$0] ?? "active", weight: 1, previous: previous[$0] ?? 0) }
        return Command(RecordPlacementDecision(name: "api", placementRevision: 1, replicas: 300, inputs: inputs,
                                               result: try result ?? PlacementDivider.decide(300, placement: Self.placement, inputs: inputs)))
    }

    func ready(_ cluster: String, _ n: Int) -> Command {
        Command(RecordServiceInstances(name: "api", cluster: cluster, instances: (0..<n).map {
            ServiceInstance(pod: String(format: "api-%@-%03d", cluster, $0), ip: "10.\(cluster.unicodeScalars.first!.value - 96).\($0 / 200).\($0 % 200 + 2)",
                            phase: "Running", ready: true)
        }))
    }

    @Test func aStepWaitsForTheLastMoveToSettleAndAFailoverDoesNot() throws {
        var fold = ServiceFold(actor: "system:placement")
        _ = fold.decide(Command(CreateService(name: "api", businessLine: "pay", image: "reg.local/api:1", replicas: 300, ports: [ServicePort(containerPort: 8080)])))
        _ = fold.decide(Command(SetServicePlacement(name: "api", placement: Self.placement)))
        #expect(fold.refusal(try decision([:])) == nil, "the first division goes at once")
        // a fails before anything is ready: its share moves at once, unsettled or not.
        #expect(fold.refusal(try decision(["a": 100, "b": 100, "c": 100], states: ["a": "unhealthy"])) == nil)
        #expect(fold.state?.placementResult == ["b": 150, "c": 150])
        // a is back: the first step (75 of the 100) waits until b and c run their 150 each.
        let back = try decision(["b": 150, "c": 150])
        #expect(fold.refusal(back) == .conflict)
        _ = fold.decide(ready("b", 150))
        _ = fold.decide(ready("c", 150))
        #expect(fold.state?.placementSettled == ["b": 150, "c": 150])
        #expect(fold.refusal(try decision(["b": 150, "c": 150], result: ["a": 100, "b": 100, "c": 100])) == .invalid, "the whole move at once")
        #expect(fold.refusal(back) == nil)
        #expect(fold.state?.placementResult == ["a": 75, "b": 112, "c": 113])
    }
}
