import Mustache

/// The renderer's second wall: whatever reaches a template value is made inert for nginx's parser. Validation
/// already refuses these characters, so in practice this changes nothing; if a rule is ever missed, a value still
/// cannot end a directive, open a block, quote, comment, expand a variable or start a new line.
struct NginxContentType: MustacheContentType {
    static let name = "NGINX"

    func escapeText(_ text: String) -> String {
        guard text.utf8.contains(where: Self.isSpecial) else { return text }
        return String(decoding: text.utf8.map { Self.isSpecial($0) ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
    }

    /// The same escaping, appended to a byte buffer (the renderer's server lines).
    static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        if text.utf8.contains(where: isSpecial) {
            for b in text.utf8 { bytes.append(isSpecial(b) ? UInt8(ascii: "_") : b) }
        } else {
            bytes.append(contentsOf: text.utf8)
        }
    }

    static func isSpecial(_ b: UInt8) -> Bool { special[Int(b)] }

    private static let special: [Bool] = (0...255).map { i in
        let b = UInt8(i)
        return b < 0x20 || b == 0x7f || b == UInt8(ascii: ";") || b == UInt8(ascii: "{") || b == UInt8(ascii: "}") || b == UInt8(ascii: "\"")
            || b == UInt8(ascii: "'") || b == UInt8(ascii: "$") || b == UInt8(ascii: "#") || b == UInt8(ascii: "\\")
    }
}
