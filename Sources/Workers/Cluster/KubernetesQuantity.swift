import Foundation

/// Kubernetes resource quantities ("4", "250m", "0.5", "8Gi", "128M", "1e3") as whole millicores or bytes.
public enum KubernetesQuantity {
    static let binary: [String: Double] = ["Ki": 1024, "Mi": 1_048_576, "Gi": 1_073_741_824, "Ti": 1_099_511_627_776, "Pi": 1_125_899_906_842_624,
                                           "Ei": 1_152_921_504_606_846_976]
    static let decimal: [String: Double] = ["n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18]

    /// The quantity as a plain number (cores, bytes); nil when it is not a quantity.
    public static func value(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.utf8.count <= 64 else { return nil }
        for (suffix, factor) in binary where t.hasSuffix(suffix) {
            return Double(t.dropLast(suffix.count)).map { $0 * factor }
        }
        if let e = t.firstIndex(where: { $0 == "e" || $0 == "E" }), t[t.index(after: e)...].allSatisfy({ $0.isNumber || $0 == "-" || $0 == "+" }),
           t.index(after: e) < t.endIndex {
            return Double(t)
        }
        let suffix = String(t.reversed().prefix { $0.isLetter }.reversed())
        guard let factor = decimal[suffix], let number = Double(t.dropLast(suffix.count)), number.isFinite, number >= 0 else { return nil }
        return number * factor
    }

    public static func millicores(_ text: String) -> Int64? { whole(value(text).map { $0 * 1000 }) }
    public static func bytes(_ text: String) -> Int64? { whole(value(text)) }

    /// Negative, infinite, NaN or past 2^62: not a quantity we take (converting would trap).
    static func whole(_ v: Double?) -> Int64? {
        guard let v, v.isFinite, v >= 0, v < 4.6e18 else { return nil }
        return Int64(v.rounded(.up))
    }
}
