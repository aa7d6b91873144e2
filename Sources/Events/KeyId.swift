/// Ids of symmetric keys (secret env, command authentication): 1-32 of [a-z0-9-], so they sit in wire forms and in
/// key file lines without escaping.
public enum KeyId {
    public static func isValid(_ id: String) -> Bool {
        (1...32).contains(id.utf8.count) && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
    }
}
