import Hummingbird
import Logging

/// Unexpected failures become a logged 500 with a JSON reason; errors that are already HTTP answers pass through.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = WharfRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPResponseError {
            throw error
        } catch {
            context.logger.error("\(request.method) \(request.uri.path) failed: \(String(reflecting: error))")
            throw APIError(.internalServerError, "internal error: \(error)")
        }
    }
}
