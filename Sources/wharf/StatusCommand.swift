import ArgumentParser
import EventLog
import Foundation
import Server

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show who consumes each partition, how far behind, and which partitions are halted.",
        discussion: """
        One row per consumer group and partition as each process last reported it (processes write their status
        every second): the owning process, its position, the partition's end, the lag between them, and the reason
        if the partition is halted (a broken chain, lost records). A halted partition is released by its process so
        that it shows unowned; mend the log (see `wharf audit verify`) and restart that process. Rows of a process
        that stopped reporting more than 10 s ago are marked stale.

        Reads the store directly (WHARF_DATABASE_URL or the private Postgres under WHARF_DATA_DIR), so it works while
        the API is down. Exits 1 when any live process reports a halted partition.
        """)

    @Flag(help: "Print the rows as JSON.")
    var json = false

    func run() async throws {
        let store = try await WharfStore.open(try WharfSettings.fromEnvironment(), logger: makeLogger("wharf-status"), listen: false, createTopics: false)
        let rows: [ConsumerStatusTable.Row]
        var ends: [String: Int64] = [:]
        do {
            let table = ConsumerStatusTable(database: store.database)
            try await table.prepare()
            rows = try await table.rows()
            for row in rows where ends["\(row.topic)/\(row.partition)"] == nil {
                ends["\(row.topic)/\(row.partition)"] = try await store.log.endOffset(topic: row.topic, partition: row.partition)
            }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        func end(_ row: ConsumerStatusTable.Row) -> Int64 { ends["\(row.topic)/\(row.partition)"] ?? 0 }
        if json {
            let items: [[String: Any]] = rows.map { r in
                ["process": r.process, "group": r.group, "partition": r.partition, "topic": r.topic, "owned": r.owned, "position": r.next,
                 "end": end(r), "lag": max(0, end(r) - r.next), "halted": r.halted ?? NSNull(), "stale": r.age >= ConsumerStatusTable.liveWithin]
            }
            let data = try JSONSerialization.data(withJSONObject: ["items": items], options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else if rows.isEmpty {
            print("no process has reported yet (is `wharf serve` running against this store?)")
        } else {
            print(TableOutput.render(["GROUP", "PARTITION", "PROCESS", "STATE", "POSITION", "END", "LAG", "HALTED BECAUSE"], rows.map { r in
                let state = r.age >= ConsumerStatusTable.liveWithin ? "stale" : r.halted != nil ? "halted" : r.owned ? "owned" : "released"
                return [r.group, String(r.partition), r.process, state, String(r.next), String(end(r)), String(max(0, end(r) - r.next)), r.halted ?? "-"]
            }))
        }
        if rows.contains(where: { $0.halted != nil && $0.age < ConsumerStatusTable.liveWithin }) { throw ExitCode(1) }
    }
}
