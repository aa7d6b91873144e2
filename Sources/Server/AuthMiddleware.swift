import Events
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Authentication and authorization of every request, before any handler runs. The token names the principal;
/// the policy table names what the route needs; a request that matches no entry is refused (deny by default).
/// A refused write is answered 403 and recorded in the audit as `denied`, and nothing else is appended.
/// Paths are compared by their segments, as the router sees them, so spellings like `//v1/audit` cannot slip past.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = WharfRequestContext
    let authorizer: Authorizer
    let gateway: CommandGateway
    /// `?after=` is honoured before the checks: they read read models (a service's line, a token's owner), and a
    /// client that has just written must be judged on what it wrote.
    let consistency: ConsistencyWait
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard let (entry, parameters) = PolicyTable.match(method: request.method, path: path) else {
            if request.headers[.authorization] == nil { throw APIError.unauthorized("missing Authorization header; send \"Authorization: Bearer <token>\"") }
            throw APIError(.forbidden, "no policy allows \(request.method.rawValue) \(path): refused by default")
        }
        if entry.requirement == .open || entry.requirement == .webhook { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("missing Authorization header; send \"Authorization: Bearer <token>\"")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw APIError.unauthorized("Authorization header must be \"Bearer <token>\"")
        }
        let principal: Principal
        do {
            principal = try await authorizer.authenticate(token: String(parts[1]))
        } catch let refused as Authorizer.Refused {
            throw APIError.unauthorized(refused.description)
        }
        try await consistency.wait(for: request)
        var request = request
        var bodyLine: String?
        if case .line(_, .body(let field)) = entry.requirement {
            bodyLine = try await Self.field(field, of: &request)
        } else if case .line(_, .serviceInBody(let field)) = entry.requirement {
            bodyLine = try await Self.field(field, of: &request)
        }
        let write = request.method != .get && request.method != .head
        let verdict = try await authorizer.authorize(entry.requirement, principal: principal, parameters: parameters, bodyLine: bodyLine, write: write)
        if let missing = verdict.missing {
            let reason = "\(principal.actor) may not \(request.method.rawValue) \(path): needs \(missing)"
            if write {
                await recordDenial(principal: principal, method: request.method.rawValue, path: path, missing: missing)
            }
            throw APIError(.forbidden, reason)
        }
        var context = context
        context.principal = principal
        context.actor = principal.actor
        context.authorizedLine = verdict.authorizedLine
        return try await next(request, context)
    }

    /// A refused write goes into the audit as `denied`. Its failure must not turn the 403 into a 500: it is logged.
    private func recordDenial(principal: Principal, method: String, path: String, missing: String) async {
        let command = Command(RecordAccessDenied(subject: principal.actor, method: method, path: String(path.prefix(2048)),
                                                 permission: String(missing.prefix(500))))
        do {
            try await gateway.record(command, actor: principal.actor)
        } catch {
            logger.error("could not record the refused \(method) \(path) by \(principal.actor): \(error)")
        }
    }

    /// A string field of the JSON body, read without consuming it for the handler (the body stays collected on
    /// the request). nil when the body is not a JSON object with that string field; the handler then answers 4xx.
    /// A body over the limit is answered 413 here: its stream is spent and cannot reach the handler.
    static func field(_ name: String, of request: inout Request) async throws -> String? {
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: StrictJSON.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body is larger than \(StrictJSON.maxBodyBytes) bytes")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else { return nil }
        return object[name] as? String
    }
}
