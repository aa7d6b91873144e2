import Commands
import Events
import Foundation
import Logging
import Projections

/// The first admin: a user with the admin platform role and a token, made through the log like any other user (so
/// the token can be revoked, and the audit shows `system:bootstrap` made them). Done once per installation: on the
/// first start of `wharf serve` (user "admin", token from WHARF_BOOTSTRAP_TOKEN or generated) or by
/// `wharf users bootstrap NAME`. Later starts find the token (revoked or not) or an admin and do nothing.
public struct IdentityBootstrap: Sendable {
    public static let actor = "system:bootstrap"

    public enum Outcome: Sendable, Equatable {
        /// The first admin was made; `token` is the secret (shown once), `generated` when Wharf made it up.
        case created(user: String, token: String, generated: Bool)
        /// This token is known already (it works unless it was revoked).
        case existing
        /// An admin exists; the given token was not registered.
        case ignored(String)
    }

    let gateway: CommandGateway
    let queries: ReadModelQueries
    let tokens: TokenStore

    public init(gateway: CommandGateway, queries: ReadModelQueries, tokens: TokenStore) {
        self.gateway = gateway; self.queries = queries; self.tokens = tokens
    }

    /// `given`: the token to register (at least 16 characters), or nil for a generated one.
    /// `force`: make this admin even though one exists (break-glass, `wharf users bootstrap --force`).
    public func firstAdmin(name: String = "admin", email: String? = nil, token given: String?, tokenId: String = "bootstrap",
                           force: Bool = false, timeout: Duration = .seconds(60)) async throws -> Outcome {
        if let given, given.count < 16 { throw BootstrapTokenTooShort() }
        let deadline = ContinuousClock.now + timeout
        // The identity read model may still be building on a first start: wait for it rather than guess.
        while true {
            do {
                if let given {
                    if try await queries.tokenPrincipal(sha256: TokenStore.hash(given)) != nil { return .existing }
                    if try await tokens.identity(for: given) != nil { return .existing }
                }
                let adminExists = try await queries.anyAdmin()
                let legacyAdmin = try await tokens.hasLegacyAdmin()
                if (adminExists || legacyAdmin) && !force {
                    return given == nil ? .existing : .ignored("an admin exists already; WHARF_BOOTSTRAP_TOKEN is not one of the known tokens and was not registered")
                }
                break
            } catch is ReadModelRebuilding where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        let secret = given ?? TokenStore.generateToken()
        let hash = TokenStore.hash(secret)
        // Keyed, so that two processes starting at once on a fresh database make one admin.
        func submit(_ command: Command, _ key: String) async throws {
            let result = try await gateway.submit(command, actor: Self.actor, correlationId: "bootstrap", idempotencyKey: "bootstrap:\(key)")
            if case .rejected(let r) = result.kind, r.code != .conflict {
                throw BootstrapFailed(description: "\(command.type) was refused: \(r.reason)")
            }
        }
        try await submit(Command(CreateUser(name: name, displayName: name, email: email ?? "\(name)@wharf.local")), "user:\(name)")
        try await submit(Command(SetPlatformRoles(user: name, roles: [.admin])), "roles:\(name)")
        try await submit(Command(IssueToken(id: tokenId, user: name, description: "bootstrap", sha256: hash)), "token:\(hash)")
        // Usable once projected, the admin role too (users and tokens are projected by different partitions); the caller
        // prints it only then.
        func usable() async throws -> Bool {
            guard try await queries.tokenPrincipal(sha256: hash) != nil else { return false }
            return try await queries.grants(of: name).platform.contains(.admin)
        }
        while try await !usable() {
            guard ContinuousClock.now < deadline else { throw BootstrapFailed(description: "the first admin's token and role were not projected within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        return .created(user: name, token: secret, generated: given == nil)
    }
}

public struct BootstrapFailed: Error, CustomStringConvertible {
    public var description: String
}
