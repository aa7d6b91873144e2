import HTTPTypes
import Server
import Testing
import TestSupport

/// The policy table and the router's own route table name the same routes: a route without a policy is refused by
/// default, and this test fails until it has one.
@Suite struct PolicyTableTests {
    @Test func everyServedRouteHasExactlyOnePolicyAndNoPolicyNamesAMissingRoute() async throws {
        try await ServerHarness.with { harness, _ in
            let served = Set(WharfAPI.routeTable(harness.runtime.router()).map { "\($0.method) \($0.path)" })
            let openAPIStyle = PolicyTable.entries.map { e in
                "\(e.method.rawValue) " + e.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                    .reduce("") { $0 + "/" + $1 }
            }
            #expect(Set(openAPIStyle).count == openAPIStyle.count, "a route is listed twice in the policy table")
            #expect(Set(openAPIStyle) == served, "no policy: \(served.subtracting(openAPIStyle)); no route: \(Set(openAPIStyle).subtracting(served))")
        }
    }

    @Test func literalSegmentsWinOverParameters() {
        let agent = PolicyTable.match(method: .get, path: "/v1/nginx/agent/clusters/edge/nodes/n1/desired")
        #expect(agent?.entry.requirement == .agent && agent?.parameters == ["cluster": "edge", "node": "n1"])
        let revisions = PolicyTable.match(method: .get, path: "/v1/services/pay-api/revisions")
        #expect(revisions?.entry.path == "/v1/services/:name/revisions" && revisions?.parameters["name"] == "pay-api")
        #expect(PolicyTable.match(method: .get, path: "/v1/services/a/b/c") == nil, "no entry: refused by default")
        #expect(PolicyTable.match(method: .delete, path: "/v1/audit") == nil, "the method is part of the match")
        #expect(PolicyTable.match(method: .get, path: "//v1//audit")?.entry.path == "/v1/audit", "empty segments are ignored, as the router does")
    }
}
