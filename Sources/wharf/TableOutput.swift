import Foundation

/// Plain aligned columns, like kubectl.
enum TableOutput {
    static func render(_ headers: [String], _ rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "   ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }

    static func prettyJSON(_ data: Data) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: data),
              let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return String(decoding: data, as: UTF8.self) }
        return String(decoding: pretty, as: UTF8.self)
    }
}

/// Prints a list response (`{"items": [...]}`) as JSON or as a table of the given (header, field) columns;
/// returns how many items there were.
@discardableResult
func printItems(_ response: APIResponse, as output: OutputFormat, columns: [(header: String, field: String)]) -> Int {
    let items = ((response.json as? [String: Any])?["items"] as? [[String: Any]]) ?? []
    if output == .json {
        print(TableOutput.prettyJSON(response.body))
    } else {
        print(TableOutput.render(columns.map(\.header), items.map { item in columns.map { string(item[$0.field]) } }))
    }
    return items.count
}

func string(_ value: Any?) -> String {
    switch value {
    case nil, is NSNull: return "-"
    case let s as String: return s
    case let n as NSNumber: return n.stringValue
    default: return "\(value!)"
    }
}
