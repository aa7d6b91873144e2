import Events
import Testing

/// A move between clusters that all take part goes in steps of at most a quarter of the replicas; a failover, a drain,
/// a first division and a change of replicas go at once.
@Suite struct PlacementStepTests {
    static let placement = ServicePlacement(clusters: ["a", "b", "c"], division: .staticWeight, weights: ["a": 1, "b": 1, "c": 1])

    static func inputs(_ previous: [String: Int], states: [String: String] = [:]) -> [PlacementInput] {
        ["a", "b", "c"].map { PlacementInput(cluster: $0, state: states[$0] ?? "active", weight: 1, previous: previous[$0] ?? 0) }
    }

    @Test func aReturningClusterGetsItsShareBackAQuarterAtATime() throws {
        // 300 replicas held by b and c after a failed a; a is back: 100 move, at most 75 per step.
        var previous = ["b": 150, "c": 150]
        var steps: [[String: Int]] = []
        while true {
            let result = try PlacementDivider.decide(300, placement: Self.placement, inputs: Self.inputs(previous))
            if result == previous { break }
            steps.append(result)
            #expect(result.values.reduce(0, +) == 300)
            let moved = result.reduce(0) { $0 + max(0, $1.value - (previous[$1.key] ?? 0)) }
            #expect(moved <= PlacementDivider.stepLimit(300), "\(previous) -> \(result)")
            previous = result
        }
        #expect(steps == [["a": 75, "b": 112, "c": 113], ["a": 100, "b": 100, "c": 100]])
    }

    @Test func failoverDrainFirstDivisionAndScalingGoAtOnce() throws {
        let even = ["a": 100, "b": 100, "c": 100]
        // a unhealthy (or draining): its 100 go to b and c in one decision.
        for state in ["unhealthy", "draining"] {
            let moved = try PlacementDivider.decide(300, placement: Self.placement, inputs: Self.inputs(even, states: ["a": state]))
            #expect(moved == ["b": 150, "c": 150], "\(state)")
        }
        #expect(try PlacementDivider.decide(300, placement: Self.placement, inputs: Self.inputs([:])) == even, "first division")
        #expect(try PlacementDivider.decide(600, placement: Self.placement, inputs: Self.inputs(even)) == ["a": 200, "b": 200, "c": 200], "scale")
        // Small moves fit in one step: 3 replicas, one moves back.
        #expect(try PlacementDivider.decide(3, placement: Self.placement, inputs: Self.inputs(["b": 2, "c": 1])) == ["a": 1, "b": 1, "c": 1])
    }
}
