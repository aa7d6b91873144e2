import EventLog
import Events
import Foundation

extension CodeflowAggregate: FeatureWorkers {
    /// The runner name of this process: host, pid and start time, so a restarted process is another runner.
    static let runner: String = {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let name = String(cString: host).filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
        return "\(name.prefix(64)):\(getpid()):\(Int(Date().timeIntervalSince1970))"
    }()

    /// `build` runs builds where this node has a registry and buildah; without them builds stay queued for a node that has.
    public static func reactors(_ c: WorkerContext) -> [any EventReactor] {
        guard let settings = c.builds, settings.registry != nil else {
            c.logger.warning("no WHARF_REGISTRY: this node builds no images; queued builds wait for a node that has one")
            return []
        }
        if settings.buildah == nil { c.logger.warning("buildah not found (WHARF_BUILDAH or PATH): builds on this node will fail at the image step") }
        return [BuildWorker(settings: settings, queries: c.queries, appender: c.appender, runner: runner, database: c.database, logger: c.logger)]
    }

    public static func tasks(_ c: WorkerContext) -> [WorkerTask] {
        let sweep = BuildRunnerSweep(database: c.database, queries: c.queries, appender: c.appender, runner: runner, logger: c.logger)
        return [WorkerTask(name: "build runner sweep") { await sweep.run() }]
    }
}
