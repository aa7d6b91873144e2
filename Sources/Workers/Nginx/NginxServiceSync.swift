import EventLog
import Events
import Foundation
import Logging
import Projections

/// Keeps the upstreams of Nginx clusters following Wharf services. On a service change it tells every cluster that
/// routes to the service (and every test cluster, which publishes all services) the service's live members; when a
/// cluster starts routing to a service it tells that cluster. The cluster's decider makes a new version if its text
/// changes.
///
/// It finds services and clusters in the read models, after waiting until the projections have caught up with
/// the whole events log as it stood when the event arrived. Of an upstream change and a service change that race on
/// two partitions, the one handled second therefore sees the other, so no cluster misses a change.
public struct NginxServiceSync: EventReactor {
    public let name = "nginx-sync"
    let log: any EventLog
    let queries: ReadModelQueries
    let logger: Logger
    var catchUpTimeout: Duration = .seconds(30)
    /// The followers of a batch's services, looked up in one query by `prepare` and taken by `react`, by event id
    /// (one reactor serves every partition, so batches of several partitions are in here at once).
    private let prefetched = Prefetched()

    final class Prefetched: @unchecked Sendable {
        private let lock = NSLock()
        private var byEvent: [String: [(cluster: String, members: String)]] = [:]
        func put(_ entries: [String: [(cluster: String, members: String)]]) {
            lock.withLock {
                // Left by batches that failed between prepare and react (they are prepared again): keep it bounded.
                if byEvent.count > 100_000 { byEvent.removeAll() }
                byEvent.merge(entries) { $1 }
            }
        }
        func take(_ eventId: String) -> [(cluster: String, members: String)]? { lock.withLock { byEvent.removeValue(forKey: eventId) } }
    }

    public init(log: any EventLog, queries: ReadModelQueries, logger: Logger) {
        self.log = log; self.queries = queries; self.logger = logger
    }

    /// What an event asks this worker to bring up to date: a service's followers, or a cluster's followed services.
    enum Subject { case service(String), cluster(String) }

    static func subject(of payload: any EventPayload) -> Subject? {
        switch payload {
        case let e as ServiceCreated: .service(e.name)
        case let e as ServiceConfigUpdated: .service(e.name)
        case let e as ServiceImageUpgraded: .service(e.name)
        case let e as ServiceScaled: .service(e.name)
        case let e as ServiceRolledBack: .service(e.name)
        case let e as ServiceDestroyed: .service(e.name)
        case let e as ServiceAddressesSet: .service(e.name)
        case let e as NginxClusterCreated: .cluster(e.name)
        case let e as NginxUpstreamPut: .cluster(e.cluster)
        case let e as NginxConfigRolledBack: .cluster(e.cluster)
        default: nil
        }
    }

    public func react(to event: EventEnvelope, at position: LogPosition) async throws -> [Command] {
        switch Self.subject(of: event.event.payload) {
        case .service(let name)?: try await sync(service: name, following: prefetched.take(event.id))
        case .cluster(let name)?: try await sync(cluster: name)
        case nil: []
        }
    }

    /// Once per batch, before its events: the projections catch up with the log as it stood when the batch was read
    /// (later than every event in it), which is what each event's sync needs; per event it cost a dozen queries.
    /// The followers of every service the batch changes are looked up then too, in one query (per event, that query
    /// was the worker's main cost under load).
    public func prepare(for events: [EventEnvelope]) async throws {
        guard events.contains(where: { Self.subject(of: $0.event.payload) != nil }) else { return }
        try await catchUp()
        var services: [String: String] = [:]  // event id -> service
        for event in events { if case .service(let name)? = Self.subject(of: event.event.payload) { services[event.id] = name } }
        let following = try await queries.nginxClustersFollowing(services: Array(Set(services.values)))
        prefetched.put(services.mapValues { following[$0] ?? [] })
    }

    private func sync(service: String, following prefetched: [(cluster: String, members: String)]? = nil) async throws -> [Command] {
        let following: [(cluster: String, members: String)]
        if let prefetched { following = prefetched } else { following = try await queries.nginxClustersFollowing(service: service) }
        guard !following.isEmpty else { return [] }
        let members = try await currentMembers(of: service)
        var commands: [Command] = []
        for (cluster, known) in following where !same(known, members) {
            commands.append(Command(SyncNginxServiceMembers(cluster: cluster, members: members)))
        }
        return commands
    }

    private func sync(cluster: String) async throws -> [Command] {
        var commands: [Command] = []
        for service in try await queries.nginxServicesFollowed(by: cluster) {
            let members = try await currentMembers(of: service)
            let known = try await queries.nginxClustersFollowing(service: service).first { $0.cluster == cluster }?.members ?? "null"
            if !same(known, members) {
                commands.append(Command(SyncNginxServiceMembers(cluster: cluster, members: members)))
            }
        }
        return commands
    }

    /// The first `replicas` addresses of an active service; none for a destroyed or unknown one.
    private func currentMembers(of service: String) async throws -> NginxServiceMembers {
        guard let view = try await queries.service(named: service) else {
            return NginxServiceMembers(service: service, revision: 0, image: "", addresses: [])
        }
        let live = view.status == "active" ? Array(view.addresses.prefix(view.replicas)) : []
        return NginxServiceMembers(service: service, revision: view.revision, image: view.image, addresses: live)
    }

    private func same(_ knownJSON: String, _ members: NginxServiceMembers) -> Bool {
        guard knownJSON != "null", let known = try? JSONDecoder().decode(NginxServiceMembers.self, from: Data(knownJSON.utf8)) else {
            // A cluster that never heard of a service without members needs no news.
            return knownJSON == "null" && members.addresses.isEmpty && members.revision == 0
        }
        return known == members
    }

    /// Waits until the projections have applied every events partition up to where it ended when called.
    private func catchUp() async throws {
        var ends: [Int: Int64] = [:]
        for (p, end) in try await log.endOffsets(topic: Topics.events).enumerated() { ends[p] = end }
        let deadline = ContinuousClock.now + catchUpTimeout
        while true {
            let progress = try await queries.progress()
            // Kafka ends every fenced append with a commit marker, which takes an offset no projector stores.
            let slack: Int64 = log.denseOffsets ? 0 : 1
            if ends.allSatisfy({ (progress[$0.key] ?? 0) >= $0.value - slack }) { return }
            if ContinuousClock.now >= deadline {
                throw CatchUpTimeout(description: "projections did not catch up with the events log within \(catchUpTimeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    struct CatchUpTimeout: Error, CustomStringConvertible { var description: String }
}
