import Foundation
import Server
import Testing
import TestSupport

/// schemas/openapi.yaml and the routes the server registers describe the same API.
@Suite struct OpenAPIAgreementTests {
    @Test func documentListsExactlyTheServedRoutes() async throws {
        try await ServerHarness.with { harness, _ in
            try Self.compare(WharfAPI.routeTable(harness.runtime.router()))
        }
    }

    static func compare(_ table: [(method: String, path: String)]) throws {
        #expect(table.count >= 30, "the router's own table lists the served routes")
        let root = TestEnvironment.repositoryRoot
        let result = try ExternalTool.run(["python3", root.appendingPathComponent("ops/openapi-routes.py").path,
                                           root.appendingPathComponent("schemas/openapi.yaml").path])
        #expect(result.status == 0, "openapi.yaml is not a valid OpenAPI document: \(result.output)")
        let documented = Set(result.output.split(separator: "\n").map(String.init))
        let served = Set(table.map { "\($0.method) \($0.path)" })
        #expect(documented == served, "only documented: \(documented.subtracting(served)); only served: \(served.subtracting(documented))")
    }

    /// Each route in the router's table is really routed (an unrouted path answers a bare 404 without our JSON reason).
    @Test func everyListedRouteIsServed() async throws {
        try await ServerHarness.with { harness, client in
            for route in WharfAPI.routeTable(harness.runtime.router()) {
                let uri = route.path.replacingOccurrences(of: "{name}", with: "no-such-service")
                let method = HTTPRequestMethod(route.method)
                let response = try await client.call(method, uri, json: route.method == "GET" || route.method == "DELETE" ? nil : "{}")
                let refusedByDefault = response.status == 403 && response.text.contains("refused by default")
                let routed = !refusedByDefault && (response.status != 404 || response.json["error"] != nil || response.json["outcome"] != nil)
                #expect(routed, "\(route.method) \(route.path) answered \(response.status) \(response.text)")
            }
            // A path no policy entry names is refused before routing (deny by default), which the check above tells apart.
            let unrouted = try await client.call(.get, "/v1/nothing-here")
            #expect(unrouted.status == 403 && unrouted.text.contains("refused by default"), "\(unrouted.text)")
        }
    }
}

import HTTPTypes
func HTTPRequestMethod(_ text: String) -> HTTPRequest.Method { HTTPRequest.Method(text)! }
