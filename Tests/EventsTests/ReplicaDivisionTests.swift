@testable import Events
import Testing

/// The division cases of Karmada's own tests (v1.16+, Webster), transcribed as data. Sources:
/// - RB: RainbowMango/karmada @d824c928a3ebfe4a6b9f85990a14d6f0b4aaf2f7, pkg/scheduler/core/assignment_test.go
///   (Test_assignByStaticWeightStrategy, Test_dynamicScaleUp, Test_dynamicScale) and division_algorithm_test.go
///   (Test_dynamicDivideReplicas); the branch of karmada#6772.
/// - ZZ: zhzhuang-zju/karmada @7b861c96da7e9c2444a6b2b3655efa5cab647581, pkg/util/helper/binding_test.go
///   (Test_dispenser_AllocateByWeight, TestDispenseReplicasByTargetClusters); the branch of karmada#6793.
/// - UP: karmada-io/karmada @f3c4376695fabb6f369ade7de25f91b7d797c372, pkg/util/helper/webstermethod_test.go.
/// Karmada breaks a last tie by a hash of the workload UID; Wharf by the smaller name (see ReplicaDivision), which
/// is what Karmada does for an empty UID, so the cases without a UID hold as written.
@Suite struct ReplicaDivisionTests {
    @Test func fourteenReplicasAtThreeTwoOneAreSevenFiveTwo() {
        // RB "replica 14, weight 3:2:1"; the pre-Webster algorithm gave 8:4:2.
        #expect(ReplicaDivision.staticWeight(14, weights: ["m1": 3, "m2": 2, "m3": 1]) == ["m1": 7, "m2": 5, "m3": 2])
        // House-monotone: 1...14 at 3:2:1 never takes a replica from a cluster.
        var last: [String: Int] = [:]
        for n in 1...14 {
            let now = ReplicaDivision.staticWeight(n, weights: ["m1": 3, "m2": 2, "m3": 1])
            #expect(now.values.reduce(0, +) == n)
            #expect(last.allSatisfy { now[$0.key, default: 0] >= $0.value }, "\(n): \(last) -> \(now)")
            last = now
        }
    }

    struct Static: CustomTestStringConvertible, Sendable {
        var name: String, replicas: Int, weights: [String: Int], expected: [String: Int]
        var testDescription: String { name }
    }

    @Test(arguments: [
        Static(name: "RB replica 12, weight 3:2:1", replicas: 12, weights: ["m1": 3, "m2": 2, "m3": 1], expected: ["m1": 6, "m2": 4, "m3": 2]),
        Static(name: "RB replica 12, default weight", replicas: 12, weights: ["m1": 1, "m2": 1, "m3": 1], expected: ["m1": 4, "m2": 4, "m3": 4]),
        Static(name: "RB insufficient replica assignment should get 0 replica", replicas: 0, weights: ["m1": 1, "m2": 1], expected: [:]),
        Static(name: "RB selected cluster without weight should be ignored", replicas: 2, weights: ["m1": 1, "m2": 0], expected: ["m1": 2]),
        Static(name: "RB cluster with multiple weights (highest rule: 2:1)", replicas: 3, weights: ["m1": 2, "m2": 1], expected: ["m1": 2, "m2": 1]),
        Static(name: "ZZ brand new assign 5 replicas (karmada#6735 weights)", replicas: 5, weights: ["A": 170, "B": 110, "C": 60],
               expected: ["A": 2, "B": 2, "C": 1]),
        Static(name: "ZZ brand new assign 6 replicas (karmada#6735 weights)", replicas: 6, weights: ["A": 170, "B": 110, "C": 60],
               expected: ["A": 3, "B": 2, "C": 1]),
        Static(name: "ZZ HA scenario with weight 2:1, 1 replica", replicas: 1, weights: ["A": 2, "B": 1], expected: ["A": 1]),
        Static(name: "ZZ HA scenario with weight 2:1, 2 replicas", replicas: 2, weights: ["A": 2, "B": 1], expected: ["A": 1, "B": 1]),
        Static(name: "ZZ HA scenario with weight 2:1, 3 replicas", replicas: 3, weights: ["A": 2, "B": 1], expected: ["A": 2, "B": 1]),
        Static(name: "UP ExampleAllocateWebsterSeats", replicas: 4, weights: ["Alpha": 1200, "Beta": 900, "Gamma": 400],
               expected: ["Alpha": 2, "Beta": 1, "Gamma": 1]),
        Static(name: "UP tie-breaker is nil, expect break tie by name", replicas: 1, weights: ["A": 1, "B": 1], expected: ["A": 1]),
        Static(name: "ZZ 3 cluster, 1:2:3, 13 sum", replicas: 13, weights: ["A": 1, "B": 2, "C": 3], expected: ["A": 2, "B": 4, "C": 7]),
        Static(name: "ZZ 3 cluster, 1:1:1, 10 sum (ties to the smaller name)", replicas: 10, weights: ["A": 5, "B": 5, "C": 5],
               expected: ["A": 4, "B": 3, "C": 3]),
    ])
    func staticWeightCases(_ c: Static) {
        #expect(ReplicaDivision.staticWeight(c.replicas, weights: c.weights) == c.expected)
    }

    @Test func websterCoreCases() {
        // UP "classic example", rounds 1...8: A,B,C,D after each round.
        let votes = ["A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000]
        let rounds = ["1000", "1100", "2100", "2110", "2210", "2211", "3211", "3311"]
        for (i, want) in rounds.enumerated() {
            let got = ReplicaDivision.webster(i + 1, weights: votes)
            #expect(["A", "B", "C", "D"].map { String(got[$0] ?? 0) }.joined() == want, "round \(i + 1): \(got)")
        }
        // UP "tie-breaker is nil, expect break tie by seats": 3/3 = 1/1, the one with fewer seats wins.
        #expect(ReplicaDivision.webster(1, weights: ["A": 3, "B": 1], initial: ["A": 1]) == ["A": 1, "B": 1])
        // UP "non-initial allocation, both new and old parties compete for new seats".
        #expect(ReplicaDivision.webster(2, weights: ["Old": 1, "New": 1], initial: ["Old": 1]) == ["Old": 1, "New": 2])
        // UP "initialAssignments party not in partyVotes": B keeps its seats and gets none.
        #expect(ReplicaDivision.webster(2, weights: ["A": 100], initial: ["B": 3]) == ["A": 2, "B": 3])
        // UP "empty party votes" and "newSeats 0".
        #expect(ReplicaDivision.webster(1, weights: [:]) == [:])
        #expect(ReplicaDivision.webster(0, weights: ["A": 100, "B": 200]) == ["A": 0, "B": 0])
        // ZZ "Scale up 3 / 6 / 2 replicas" from A1 B2 C3 at 1:2:3.
        let initial = ["A": 1, "B": 2, "C": 3], w = ["A": 1, "B": 2, "C": 3]
        #expect(ReplicaDivision.webster(3, weights: w, initial: initial) == ["A": 2, "B": 3, "C": 4])
        #expect(ReplicaDivision.webster(6, weights: w, initial: initial) == ["A": 2, "B": 4, "C": 6])
        #expect(ReplicaDivision.webster(2, weights: w, initial: initial) == ["A": 1, "B": 3, "C": 4])
    }

    struct Dynamic: CustomTestStringConvertible, Sendable {
        enum Kind: Sendable { case dynamic, aggregated }
        var name: String, kind: Kind, replicas: Int, available: [String: Int], previous: [String: Int] = [:], expected: [String: Int]?
        var testDescription: String { name }
    }

    @Test(arguments: [
        Dynamic(name: "RB replica 12, dynamic weight 18:12:6", kind: .dynamic, replicas: 12, available: ["m1": 18, "m2": 12, "m3": 6],
                expected: ["m1": 6, "m2": 4, "m3": 2]),
        Dynamic(name: "RB replica 12, dynamic weight 20:12:6", kind: .dynamic, replicas: 12, available: ["m1": 20, "m2": 12, "m3": 6],
                expected: ["m1": 6, "m2": 4, "m3": 2]),
        Dynamic(name: "RB replica 12, dynamic weight 6:12:6", kind: .dynamic, replicas: 12, available: ["m1": 6, "m2": 12, "m3": 6],
                expected: ["m1": 3, "m2": 6, "m3": 3]),
        Dynamic(name: "RB replica 12, aggregated 12:6:6", kind: .aggregated, replicas: 12, available: ["m2": 12, "m1": 6, "m3": 6],
                expected: ["m2": 12]),
        Dynamic(name: "RB replica 12, aggregated 6:6:6", kind: .aggregated, replicas: 12, available: ["m1": 6, "m2": 6, "m3": 6],
                expected: ["m1": 6, "m2": 6]),
        Dynamic(name: "RB replica 12, dynamic weight 6:8:10", kind: .dynamic, replicas: 12, available: ["m1": 6, "m2": 8, "m3": 10],
                expected: ["m1": 3, "m2": 4, "m3": 5]),
        Dynamic(name: "RB replica 12, dynamic weight 8:8:10", kind: .dynamic, replicas: 12, available: ["m1": 8, "m2": 8, "m3": 10],
                expected: ["m1": 4, "m2": 4, "m3": 4]),
        Dynamic(name: "RB replica 12, dynamic weight 3:3:3 (not enough)", kind: .dynamic, replicas: 12, available: ["m1": 3, "m2": 3, "m3": 3],
                expected: nil),
        Dynamic(name: "RB replica 12, aggregated 6:8:10", kind: .aggregated, replicas: 12, available: ["m1": 6, "m2": 8, "m3": 10],
                expected: ["m2": 5, "m3": 7]),
        Dynamic(name: "RB replica 12, aggregated 12:8:10", kind: .aggregated, replicas: 12, available: ["m1": 12, "m2": 8, "m3": 10],
                expected: ["m1": 12]),
        Dynamic(name: "RB replica 12, aggregated 3:3:3 (not enough)", kind: .aggregated, replicas: 12, available: ["m1": 3, "m2": 3, "m3": 3],
                expected: nil),
        Dynamic(name: "RB dynamic weight 3:3, cluster3 disappeared and cluster2 appeared", kind: .dynamic, replicas: 12,
                available: ["m1": 3, "m2": 3], previous: ["m1": 6, "m3": 6], expected: ["m1": 9, "m2": 3]),
        Dynamic(name: "RB replica 12 -> 6, dynamic weighted 1:1:1", kind: .dynamic, replicas: 6, available: ["m1": 1, "m2": 1, "m3": 1],
                previous: ["m1": 2, "m2": 4, "m3": 6], expected: ["m1": 1, "m2": 2, "m3": 3]),
        Dynamic(name: "RB replica 12 -> 24, dynamic weighted 10:10:10", kind: .dynamic, replicas: 24, available: ["m1": 10, "m2": 10, "m3": 10],
                previous: ["m1": 2, "m2": 4, "m3": 6], expected: ["m1": 6, "m2": 8, "m3": 10]),
        Dynamic(name: "RB replica 12 -> 24, dynamic weighted 1:1:1 (not enough)", kind: .dynamic, replicas: 24,
                available: ["m1": 1, "m2": 1, "m3": 1], previous: ["m1": 2, "m2": 4, "m3": 6], expected: nil),
        Dynamic(name: "RB replica 12 -> 24, aggregated 4:6:8", kind: .aggregated, replicas: 24, available: ["m1": 4, "m2": 6, "m3": 8],
                previous: ["m1": 4, "m2": 8], expected: ["m1": 7, "m2": 12, "m3": 5]),
        Dynamic(name: "RB replica 12 -> 6, aggregated 1:1:1", kind: .aggregated, replicas: 6, available: ["m1": 1, "m2": 1, "m3": 1],
                previous: ["m1": 4, "m2": 8], expected: ["m2": 6]),
        Dynamic(name: "RB replica 12 -> 8, aggregated 100:100", kind: .aggregated, replicas: 8, available: ["m1": 100, "m2": 100],
                previous: ["m1": 4, "m2": 8], expected: ["m2": 8]),
        Dynamic(name: "RB replica 12 -> 24, aggregated 6:6:20", kind: .aggregated, replicas: 24, available: ["m1": 6, "m2": 6, "m3": 20],
                previous: ["m1": 4, "m2": 8], expected: ["m1": 10, "m2": 14]),
        Dynamic(name: "RB replica 12 -> 24, aggregated 1:1:1 (not enough)", kind: .aggregated, replicas: 24,
                available: ["m1": 1, "m2": 1, "m3": 1], previous: ["m1": 4, "m2": 8], expected: nil),
        Dynamic(name: "RB aggregated 4:8:12, cluster2 disappeared and cluster4 appeared", kind: .aggregated, replicas: 24,
                available: ["m1": 4, "m3": 8, "m4": 12], previous: ["m1": 4, "m2": 8], expected: ["m1": 7, "m3": 7, "m4": 10]),
    ])
    func dynamicAndAggregatedCases(_ c: Dynamic) {
        let result = Result {
            switch c.kind {
            case .dynamic: try ReplicaDivision.dynamicWeight(c.replicas, available: c.available, previous: c.previous)
            case .aggregated: try ReplicaDivision.aggregated(c.replicas, available: c.available, previous: c.previous)
            }
        }
        switch (result, c.expected) {
        case (.success(let got), .some(let want)): #expect(got == want)
        case (.failure(let error), .none): #expect(error is ReplicaDivision.Shortage, "\(error)")
        case (.success(let got), .none): Issue.record("expected a shortage, got \(got)")
        case (.failure(let error), .some(let want)): Issue.record("expected \(want), got \(error)")
        }
    }

    @Test func aFailedClusterShareMovesWithoutTouchingTheHealthyOnes() {
        // 9 replicas over three clusters by capacity; c fails: its 3 go to a and b, whose replicas stay where they are.
        let before = try! ReplicaDivision.dynamicWeight(9, available: ["a": 10, "b": 10, "c": 10], previous: [:])
        #expect(before == ["a": 3, "b": 3, "c": 3])
        let after = try! ReplicaDivision.dynamicWeight(9, available: ["a": 7, "b": 7], previous: before)
        #expect(after["a"]! >= 3 && after["b"]! >= 3 && after.values.reduce(0, +) == 9 && after["c"] == nil, "\(after)")
    }
}
