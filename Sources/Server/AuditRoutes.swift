import Events
import Foundation
import Hummingbird
import Projections

/// /v1/audit: every intent with actor, type, outcome and reason, filterable by aggregate, actor and time.
struct AuditRoutes {
    let queries: ReadModelQueries
    let consistency: ConsistencyWait

    func register(on router: Router<WharfRequestContext>) {
        router.get("/v1/audit") { request, context in
            try await consistency.wait(for: request)
            let q = request.uri.queryParameters
            var filter = AuditFilter()
            filter.aggregate = q.get("aggregate").flatMap { $0.isEmpty ? nil : $0 }
            filter.actor = q.get("actor").flatMap { $0.isEmpty ? nil : $0 }
            filter.from = try time(q.get("from"), field: "from")
            filter.to = try time(q.get("to"), field: "to")
            if let limit = q.get("limit") {
                guard let n = Int(limit), (1...10_000).contains(n) else {
                    throw APIError(.badRequest, "limit must be between 1 and 10000", field: "limit")
                }
                filter.limit = n
            }
            // Platform roles read everything; a member reads their lines' services and their own acts.
            let principal = try context.requirePrincipal()
            if !principal.readsAll {
                filter.visibleLines = principal.grants.lines.keys.sorted()
                filter.visibleActor = principal.actor
            }
            return try JSONResponse.make(Items(items: try await queries.audit(filter)))
        }
    }

    private func time(_ text: String?, field: String) throws -> Date? {
        guard let text, !text.isEmpty else { return nil }
        guard let date = WharfTime.parse(text) else {
            throw APIError(.badRequest, "\(field) must be an RFC 3339 time like 2026-11-27T09:30:00Z", field: field)
        }
        return date
    }
}
