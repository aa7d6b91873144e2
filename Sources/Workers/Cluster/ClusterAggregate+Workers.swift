import EventLog
import Events
import Foundation

extension ClusterAggregate: FeatureWorkers {
    public static func reactors(_ c: WorkerContext) -> [any EventReactor] { [] }

    /// Health of every registered cluster, each looked at by one process at a time; the placement scheduler.
    public static func tasks(_ c: WorkerContext) -> [WorkerTask] {
        let scheduler = PlacementScheduler(queries: c.queries, appender: c.appender, logger: c.logger)
        var tasks = [WorkerTask(name: "placement scheduler") { await scheduler.run() }]
        guard let secrets = c.secrets else {
            c.logger.warning("no secret keyring: cluster tokens cannot be opened, so no cluster health is recorded on this node")
            return tasks
        }
        let monitor = ClusterHealthMonitor(queries: c.queries, database: c.database, appender: c.appender, secrets: secrets, logger: c.logger)
        tasks.append(WorkerTask(name: "cluster health") { await monitor.run() })
        return tasks
    }
}
