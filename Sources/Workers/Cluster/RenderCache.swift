import Foundation

/// One cluster's rendered objects, kept from round to round by what they were rendered from (the service's and the
/// placement's log positions, the replicas, the sealed secret texts): a steady fleet of 2,000 services is not
/// serialized to JSON again every second. Entries not used in a round are dropped at its end.
final class RenderCache: @unchecked Sendable {
    private var entries: [String: (key: String, objects: [ServiceObjects.Object])] = [:]
    private var used: Set<String> = []

    func objects(service: String, key: String, render: () throws -> [ServiceObjects.Object]) rethrows -> [ServiceObjects.Object] {
        used.insert(service)
        if let entry = entries[service], entry.key == key { return entry.objects }
        let objects = try render()
        entries[service] = (key, objects)
        return objects
    }

    func endRound() {
        entries = entries.filter { used.contains($0.key) }
        used = []
    }
}
