import Events
import Foundation
import HTTPTypes
import Hummingbird

/// Turns a write's outcome into the portal's answer: the events (accepted), the event and what held already
/// (unchanged: 200, like `kubectl scale` to the replicas there are) or the reason (rejected), always with
/// the log position that `?after=` accepts.
enum WriteResponse {
    /// Written as text: the events are canonical JSON already (sorted keys), spliced in as stored, and the few other
    /// fields are strings in sorted key order. (Parsing the events back into dictionaries and serializing them again
    /// cost more CPU than the rest of the write.)
    static func make(_ result: WriteResult, createdStatus: HTTPResponse.Status = .ok) throws -> Response {
        var fields: [(key: String, json: String)] = [
            ("commandId", Self.string(result.commandId)),
            ("commandType", Self.string(result.commandType)),
        ]
        if let p = result.commandPosition { fields.append(("commandPosition", Self.string(p.description))) }
        if let p = result.position { fields.append(("position", Self.string(p.description))) }
        let status: HTTPResponse.Status
        switch result.kind {
        case .accepted:
            fields.append(("outcome", Self.string("accepted")))
            fields.append(("events", result.eventsJSON))
            status = createdStatus
        case .unchanged(let u):
            fields.append(("outcome", Self.string("unchanged")))
            fields.append(("reason", Self.string(u.reason)))
            fields.append(("events", result.eventsJSON))
            status = .ok
        case .rejected(let r):
            fields.append(("outcome", Self.string("rejected")))
            fields.append(("code", Self.string(r.code.rawValue)))
            fields.append(("reason", Self.string(r.reason)))
            switch r.code {
            case .notFound: status = .notFound
            case .conflict: status = .conflict
            case .invalid: status = .unprocessableContent
            }
        case .pending:
            fields.append(("outcome", Self.string("pending")))
            fields.append(("reason", Self.string("the command is in the log but was not decided in time; GET /v1/audit?aggregate=... shows its outcome later")))
            status = .accepted
        }
        let body = "{" + fields.sorted { $0.key < $1.key }.map { Self.string($0.key) + ":" + $0.json }.joined(separator: ",") + "}"
        return JSONResponse.raw(body, status: status)
    }

    private static func string(_ s: String) -> String { CanonicalWriter.write(.string(s)) }
}
