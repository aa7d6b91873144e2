import Hummingbird
import Logging
import Projections

/// Unexpected failures become a 500 that says only "internal error" and a short random error id; the details
/// (which may name tables, hosts, paths or values) go to the log under that id, never to the client. Errors that
/// are already HTTP answers pass through.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = WharfRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPResponseError {
            throw error
        } catch let rebuilding as ReadModelRebuilding {
            throw APIError(.serviceUnavailable, rebuilding.description)
        } catch {
            let id = Self.errorId()
            context.logger.error("\(request.method) \(request.uri.path) failed (error id \(id)): \(String(reflecting: error))",
                                 metadata: ["errorId": .string(id)])
            var answer = APIError(.internalServerError, "internal error")
            answer.errorId = id
            throw answer
        }
    }

    /// 12 hex digits from the system's random source: short enough to read out, enough not to collide in a log.
    static func errorId() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<6).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16) }
            .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
    }
}
