import Crypto
import EventLog
import Events
import Foundation
import Logging
import PostgresNIO
import Projections

/// The cluster worker: each registered cluster is looked after by exactly one Wharf process (the holder of that
/// cluster's session advisory lock, on a connection of its own, so a killed process hands its clusters over within
/// a round). Every `every` it asks the API for nodes and pods and appends `RecordClusterHealth` only when what it
/// sees differs from the last recorded health; every `reconcileEvery` it applies what the placements give the
/// cluster (`ClusterReconciler`) and carries out the pending operations on its pods (`InstanceOperationRunner`).
public struct ClusterHealthMonitor: Sendable {
    let queries: ReadModelQueries
    let database: Database
    let appender: CommandAppender
    let secrets: SecretKeyring
    let logger: Logger
    var every: Duration = .seconds(5)
    var reconcileEvery: Duration = .seconds(1)
    let secretEnv: SecretEnvOpener

    public static let actor = "system:cluster"
    /// How long after a cluster's health changed (to healthy) its leftovers are held for the scheduler (it divides every second).
    static let holdAfterReturn: Double = 15

    public init(queries: ReadModelQueries, database: Database, appender: CommandAppender, secrets: SecretKeyring, logger: Logger,
                every: Duration = .seconds(5), reconcileEvery: Duration = .seconds(1)) {
        self.queries = queries; self.database = database; self.appender = appender; self.secrets = secrets; self.logger = logger
        self.every = every; self.reconcileEvery = reconcileEvery
        secretEnv = SecretEnvOpener(keyring: secrets)
    }

    public func run() async {
        var connection: PostgresConnection?
        var held: Set<String> = []
        // One task per held cluster, so a cluster whose API hangs holds up only itself.
        var workers: [String: (identity: String, task: Task<Void, Never>, client: KubernetesClient)] = [:]
        func stop(_ name: String) async {
            guard let w = workers.removeValue(forKey: name) else { return }
            w.task.cancel()
            await w.task.value
            await w.client.shutdown()
        }
        func stopAll() async { for name in Array(workers.keys) { await stop(name) } }
        while !Task.isCancelled {
            do {
                let clusters = try await queries.clusters()
                // No cluster registered: no lock connection either (most installations start so, and every test runtime),
                // and a look every 5 s rather than every second: a new cluster's health is seen within that.
                if clusters.isEmpty && held.isEmpty && connection == nil {
                    try? await Task.sleep(for: every)
                    continue
                }
                if connection == nil || connection?.isClosed == true {
                    // The locks went with the old connection; so does what this process believed it had applied.
                    await stopAll()
                    held = []
                    connection = try await database.dedicatedConnection()
                }
                // A connection that died quietly has lost its locks: find out each round, not only when taking new ones.
                for try await _ in try await connection!.query("SELECT 1", logger: logger).decode(Int.self) {}
                let names = Set(clusters.map(\.name))
                for gone in held.subtracting(names) {
                    await stop(gone)
                    for try await _ in try await connection!.query("SELECT pg_advisory_unlock(\(Self.lockKey(gone)))", logger: logger).decode(Bool.self) {}
                    held.remove(gone)
                }
                for cluster in clusters where !held.contains(cluster.name) {
                    let rows = try await connection!.query("SELECT pg_try_advisory_lock(\(Self.lockKey(cluster.name)))", logger: logger)
                    for try await taken in rows.decode(Bool.self) where taken { held.insert(cluster.name) }
                }
                for cluster in clusters where held.contains(cluster.name) {
                    // A registration seals its token afresh (random nonce): a new sealed token is a new registration.
                    if workers[cluster.name]?.identity == cluster.sealedToken { continue }
                    await stop(cluster.name)
                    let client: KubernetesClient
                    do {
                        let token = try secrets.open(cluster.sealedToken, service: ClusterSecrets.scope(cluster: cluster.name), variable: ClusterSecrets.variable)
                        client = try KubernetesClient(apiServer: cluster.spec.apiServer, caBundle: cluster.spec.caBundle, token: token)
                    } catch {
                        logger.error("cluster \(cluster.name): cannot open its token or make its client: \(error)")
                        continue
                    }
                    let name = cluster.name
                    workers[name] = (cluster.sealedToken, Task { await self.look(after: name, with: client) }, client)
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning("cluster worker: \(error)")
                await stopAll()
                try? await connection?.close()
                connection = nil
            }
            try? await Task.sleep(for: reconcileEvery)
        }
        await stopAll()
        try? await connection?.close()
    }

    /// One cluster's loops while this process holds it: health every `every`, reconciliation every `reconcileEvery`.
    func look(after name: String, with client: KubernetesClient) async {
        let reconciler = ClusterReconciler(cluster: name, client: client, appender: appender, logger: logger)
        let renders = RenderCache()
        let operations = InstanceOperationRunner(cluster: name, client: client, queries: queries, appender: appender, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await reconciler.pods.run() }
            group.addTask { await reconciler.deployments.run() }
            group.addTask {
                while !Task.isCancelled {
                    if let cluster = try? await queries.clusters(only: name).first { await look(at: cluster, with: client) }
                    try? await Task.sleep(for: every)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    // A cluster not known healthy is not written to; once back, it is applied and reported afresh (what
                    // this process did before says nothing of what the cluster holds now).
                    if let cluster = try? await queries.clusters(only: name).first, cluster.health?.healthy == true {
                        do {
                            let (desired, held) = try await desiredObjects(on: name, justBack: (cluster.healthChangedFor ?? .infinity) < Self.holdAfterReturn,
                                                                           cache: renders)
                            await reconciler.reconcile(desired, holding: held)
                            // After applying: a pod recreated now is replaced by the Deployment this round applied.
                            await operations.runPending()
                        } catch {
                            logger.warning("cluster \(name): what to apply could not be worked out: \(error)")
                        }
                    } else {
                        reconciler.forget()
                    }
                    try? await Task.sleep(for: reconcileEvery)
                }
            }
        }
    }

    /// The objects of every service that runs replicas on `cluster`: its share, or during a move the larger of its
    /// settled and new share (`PlacementShares`), so a cluster losing replicas keeps them until their replacements are ready.
    /// `held` (only while the cluster is `justBack`): services whose last division saw this cluster unhealthy: what it
    /// still runs of them is left alone until the scheduler divides again with it back, not pruned and started anew a
    /// moment later. Bounded, because a division that gives it nothing again (the others hold every replica under
    /// dynamic-weight or aggregated) changes no result, so no new decision would ever end the hold.
    func desiredObjects(on cluster: String, justBack: Bool = false, cache: RenderCache = RenderCache()) async throws
        -> (desired: [String: [ServiceObjects.Object]], held: Set<String>) {
        defer { cache.endRound() }
        var out: [String: [ServiceObjects.Object]] = [:]
        var held: Set<String> = []
        let placements = try await queries.placements()
        // One read of the services for the round, not one per placed service (2,000 services: 2,000 queries a second).
        let services = placements.isEmpty ? [:] : Dictionary(try await queries.services(limit: 1_000_000).map { ($0.name, $0) },
                                                             uniquingKeysWith: { a, _ in a })
        let sealed = placements.isEmpty ? [:] : try await queries.sealedSecretEnv()
        secretEnv.retain(Set(sealed.values.flatMap(\.values)))
        for p in placements {
            guard let replicas = p.running[cluster], replicas > 0 else {
                if justBack, p.inputs.contains(where: { $0.cluster == cluster && $0.state == "unhealthy" }) { held.insert(p.service) }
                continue
            }
            guard let service = services[p.service], service.status == "active" else { continue }
            let plain: [String: String]
            do { plain = try secretEnv.open(sealed[p.service] ?? [:], service: p.service) } catch {
                // Never run it without its secrets: leave what runs as it is (neither applied nor pruned).
                logger.error("cluster \(cluster): the secret env of \(p.service) cannot be opened on this node: \(error)")
                held.insert(p.service)
                continue
            }
            let key = "\(service.position)|\(p.position)|\(replicas)|\((sealed[p.service] ?? [:]).sorted { $0.key < $1.key }.map(\.value))"
            out[p.service] = try cache.objects(service: p.service, key: key) {
                try ServiceObjects.render(service, replicas: replicas, placement: p.placement, position: p.position, secretEnv: plain)
            }
        }
        return (out, held)
    }

    /// Asks the cluster and records what changed. The command id names the cluster's last recorded change and what
    /// is seen now, so a repeat after a crash is answered from history while a later return to the same health is new.
    func look(at cluster: ClusterRecord, with client: KubernetesClient) async {
        let health = await client.health()
        guard health != cluster.health else { return }
        let text = (try? CanonicalJSON.encode(health)) ?? ""
        let digest = SHA256.hash(data: Data(text.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        do {
            try await appender.append(Command(RecordClusterHealth(name: cluster.name, health: health)),
                                      id: "cluster:\(cluster.name):health:\(cluster.position):\(digest)", actor: Self.actor,
                                      correlationId: "cluster-health:\(cluster.name)", causationId: nil)
            logger.info("cluster \(cluster.name): \(health.healthy ? "healthy" : "not healthy: \(health.reason ?? "?")")")
        } catch {
            logger.warning("cluster \(cluster.name): recording its health failed: \(error)")
        }
    }

    /// One 64-bit advisory lock key per cluster name, apart from Wharf's other locks.
    static func lockKey(_ name: String) -> Int64 {
        Int64(bitPattern: (UInt64(Partitioner.fnv1a(name)) << 32) | 0x4B38_0000)
    }
}
