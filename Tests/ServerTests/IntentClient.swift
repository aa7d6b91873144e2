import AsyncHTTPClient
import EventLog
import Foundation
import NIOCore
import PostgresNIO

/// A final answer to an intent: its command id, outcome and log position.
struct Ack { var commandId: String; var outcome: String; var position: String }

/// Acknowledgements collected by concurrent clients.
final class AckLog: @unchecked Sendable {
    private let lock = NSLock()
    private var acks: [Ack] = []
    func append(_ ack: Ack) -> Int { lock.withLock { acks.append(ack); return acks.count } }
    var all: [Ack] { lock.withLock { acks } }
}

struct ServerGone: Error {}

/// Posts one intent as the portal does (bearer token, idempotency key). Returns its acknowledgement, nil when the
/// answer is not final (e.g. still pending), and throws `ServerGone` when no answer came back (the server died).
func postIntent(port: Int, token: String, path: String, body: String, idempotencyKey: String, timeout: TimeAmount) async throws -> Ack? {
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
    request.method = .POST
    request.headers.add(name: "Authorization", value: "Bearer \(token)")
    request.headers.add(name: "Idempotency-Key", value: idempotencyKey)
    request.body = .bytes(ByteBuffer(string: body))
    guard let response = try? await HTTPClient.shared.execute(request, timeout: timeout),
          let bytes = try? await response.body.collect(upTo: 1 << 20) else { throw ServerGone() }
    let object = (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:]
    guard let id = object["commandId"] as? String, let outcome = object["outcome"] as? String, outcome != "pending",
          let position = object["position"] as? String else { return nil }
    return Ack(commandId: id, outcome: outcome, position: position)
}

/// Command id -> outcome, as the audit read model has it.
func auditOutcomes(_ database: Database) async throws -> [String: String] {
    let rows = try await database.client.query("SELECT command_id, outcome FROM wharf_read.audit")
    var out: [String: String] = [:]
    for try await (id, outcome) in rows.decode((String, String).self) { out[id] = outcome }
    return out
}
