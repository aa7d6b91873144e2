import Events

/// Field rules for users, business lines, tokens and refused-attempt records.
public enum IdentityValidation {
    public static let maxDisplayName = 200
    public static let maxDescription = 200

    public static func validate(_ command: Command) -> [ValidationError] {
        var e: [ValidationError] = []
        switch command.payload {
        case let c as CreateUser:
            ServiceValidation.check(dnsLabel: c.name, field: "name", into: &e)
            displayName(c.displayName, &e)
            if !isEmail(c.email) { e.append(.init(field: "email", message: "must be an address like name@example.com (at most 254 bytes)")) }
        case let c as SetPlatformRoles:
            ServiceValidation.check(dnsLabel: c.user, field: "user", into: &e)
            if Set(c.roles).count != c.roles.count { e.append(.init(field: "roles", message: "a role is listed twice")) }
        case let c as SetUserDisabled:
            ServiceValidation.check(dnsLabel: c.name, field: "name", into: &e)
        case let c as CreateBusinessLine:
            ServiceValidation.check(dnsLabel: c.name, field: "name", into: &e)
            displayName(c.displayName, &e)
        case let c as SetMemberRole:
            ServiceValidation.check(dnsLabel: c.line, field: "line", into: &e)
            ServiceValidation.check(dnsLabel: c.user, field: "user", into: &e)
        case let c as RemoveMember:
            ServiceValidation.check(dnsLabel: c.line, field: "line", into: &e)
            ServiceValidation.check(dnsLabel: c.user, field: "user", into: &e)
        case let c as IssueToken:
            tokenId(c.id, &e)
            ServiceValidation.check(dnsLabel: c.user, field: "user", into: &e)
            if c.description.utf8.count > maxDescription || c.description.contains(where: \.isNewline) {
                e.append(.init(field: "description", message: "at most \(maxDescription) bytes on one line"))
            }
            if c.sha256.utf8.count != 64 || !c.sha256.utf8.allSatisfy(isLowerHex) {
                e.append(.init(field: "sha256", message: "must be 64 lowercase hex digits"))
            }
            if let at = c.expiresAt, WharfTime.parse(at) == nil {
                e.append(.init(field: "expiresAt", message: "must be an RFC 3339 time such as 2027-01-31T00:00:00Z (got \(ServiceValidation.quoted(at)))"))
            }
        case let c as RevokeToken:
            tokenId(c.id, &e)
        case let c as RecordAccessDenied:
            if c.subject.isEmpty || c.subject.utf8.count > 200 { e.append(.init(field: "subject", message: "1-200 bytes")) }
            if c.path.utf8.count > 2048 { e.append(.init(field: "path", message: "at most 2048 bytes")) }
        default:
            break
        }
        return e
    }

    static func displayName(_ s: String, _ e: inout [ValidationError]) {
        if s.isEmpty || s.utf8.count > maxDisplayName || s.contains(where: \.isNewline) {
            e.append(.init(field: "displayName", message: "1-\(maxDisplayName) bytes on one line"))
        }
    }

    /// Token ids are 16 lowercase hex digits (or "bootstrap" for the first admin's token).
    static func tokenId(_ s: String, _ e: inout [ValidationError]) {
        if !(s == "bootstrap" || (s.utf8.count == 16 && s.utf8.allSatisfy(isLowerHex))) {
            e.append(.init(field: "id", message: "must be a token id: 16 lowercase hex digits (got \(ServiceValidation.quoted(s)))"))
        }
    }

    static func isLowerHex(_ b: UInt8) -> Bool { (48...57).contains(b) || (97...102).contains(b) }

    /// Deliberately plain: one "@", a non-empty local part, a domain with a dot, no spaces or control characters.
    public static func isEmail(_ s: String) -> Bool {
        guard s.utf8.count <= 254, !s.contains(where: { $0.isWhitespace || $0.isNewline }) else { return false }
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else { return false }
        return s.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
    }
}
