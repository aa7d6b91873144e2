import Events
import Foundation
import HTTPTypes
import Hummingbird

/// Turns a write's outcome into the portal's answer: the events (accepted) or the reason (rejected), always with
/// the log position that `?after=` accepts.
enum WriteResponse {
    static func make(_ result: WriteResult, createdStatus: HTTPResponse.Status = .ok) throws -> Response {
        var body: [String: Any] = [
            "commandId": result.commandId,
            "commandType": result.commandType,
        ]
        if let p = result.commandPosition { body["commandPosition"] = p.description }
        if let p = result.position { body["position"] = p.description }
        let status: HTTPResponse.Status
        switch result.kind {
        case .accepted:
            body["outcome"] = "accepted"
            body["events"] = try JSONSerialization.jsonObject(with: Data(result.eventsJSON.utf8))
            status = createdStatus
        case .rejected(let r):
            body["outcome"] = "rejected"
            body["code"] = r.code.rawValue
            body["reason"] = r.reason
            switch r.code {
            case .notFound: status = .notFound
            case .conflict: status = .conflict
            case .invalid: status = .unprocessableContent
            }
        case .pending:
            body["outcome"] = "pending"
            body["reason"] = "the command is in the log but was not decided in time; GET /v1/audit?aggregate=... shows its outcome later"
            status = .accepted
        }
        return try JSONResponse.object(body, status: status)
    }
}
