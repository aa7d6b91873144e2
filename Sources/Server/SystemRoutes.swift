import EventLog
import Hummingbird
import Prometheus

/// /healthz for probes, /metrics for Prometheus. Both open (no token).
struct SystemRoutes {
    let database: Database
    let registry: PrometheusCollectorRegistry

    func register(on router: Router<WharfRequestContext>) {
        router.get("/healthz") { _, _ in
            do {
                try await database.client.query("SELECT 1", logger: database.logger)
                return JSONResponse.raw(#"{"status":"ok"}"#)
            } catch {
                return JSONResponse.raw(#"{"status":"unavailable","reason":"database unreachable"}"#, status: .serviceUnavailable)
            }
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: .init(string: registry.emitToString())))
        }
    }
}
