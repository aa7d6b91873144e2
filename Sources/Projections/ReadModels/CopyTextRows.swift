import PostgresNIO

/// Rows in the text format of `COPY ... FROM STDIN` (tab-separated, one row per line, `\N` for NULL), for bulk
/// loads where a COPY costs Postgres a fraction of an INSERT ... SELECT FROM unnest of the same rows.
struct CopyTextRows {
    private(set) var buffer: ByteBuffer
    private var first = true

    init(capacity: Int) { buffer = ByteBufferAllocator().buffer(capacity: capacity) }

    mutating func text(_ value: String) {
        separate()
        // The format's four special bytes are escaped; everything else is taken literally.
        let plain = value.utf8.withContiguousStorageIfAvailable { !$0.contains(where: Self.needsEscape) } ?? false
        guard !plain else { buffer.writeString(value); return }
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            default: buffer.writeInteger(b)
            }
        }
    }

    /// An empty string becomes NULL.
    mutating func textOrNull(_ value: String) {
        if value.isEmpty { separate(); buffer.writeStaticString("\\N") } else { text(value) }
    }

    mutating func integer<I: BinaryInteger>(_ value: I) {
        separate()
        buffer.writeString(String(value))
    }

    mutating func endRow() {
        buffer.writeInteger(UInt8(ascii: "\n"))
        first = true
    }

    private mutating func separate() {
        if first { first = false } else { buffer.writeInteger(UInt8(ascii: "\t")) }
    }

    @inline(__always)
    private static func needsEscape(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "\\") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r")
    }
}

extension PostgresConnection {
    /// COPY `rows` into `schema.table` (the connection's search path is set for the transaction, since
    /// `copyFrom` quotes the table name as one identifier). Must run inside a transaction.
    func copy(_ rows: CopyTextRows, into table: String, schema: String, columns: [String], logger: Logger) async throws {
        try await query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(schema)"), logger: logger)
        try await copyFrom(table: table, columns: columns, logger: logger) { writer in
            try await writer.write(rows.buffer)
        }
    }
}
