import Events
import Foundation
import Hummingbird
import Projections

/// /v1/audit: every intent with actor, type, outcome and reason, filterable by aggregate, actor and time.
struct AuditRoutes {
    let queries: ReadModelQueries
    let consistency: ConsistencyWait
    let coverage: CheckpointCoverage

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
            let items = try await queries.audit(filter)
            let newest = try await coverage.newest(partitions: Set(items.compactMap { LogPosition($0.position)?.partition }))
            return try JSONResponse.make(Items(items: items.map { item in
                CoveredAuditItem(item: item, covered: LogPosition(item.position).map { ($0.offset) <= (newest[$0.partition] ?? -1) } ?? false)
            }))
        }
    }

    /// An audit row and whether a checkpoint of this installation covers its events.
    struct CoveredAuditItem: Encodable {
        var item: AuditView
        var covered: Bool
        func encode(to encoder: Encoder) throws {
            try item.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(covered, forKey: .covered)
        }
        enum CodingKeys: String, CodingKey { case covered }
    }

    private func time(_ text: String?, field: String) throws -> Date? {
        guard let text, !text.isEmpty else { return nil }
        guard let date = WharfTime.parse(text) else {
            throw APIError(.badRequest, "\(field) must be an RFC 3339 time like 2026-11-27T09:30:00Z", field: field)
        }
        return date
    }
}
