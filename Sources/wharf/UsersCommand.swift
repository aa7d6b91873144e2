import ArgumentParser
import EventLog
import Events
import Foundation
import Prometheus
import Server

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "People: create, list, disable, platform roles, and the first admin.",
        subcommands: [Create.self, List.self, Roles.self, Disable.self, Enable.self, Bootstrap.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user (admin only). Give them roles with `users roles` or `business-lines grant`.")
        @Argument(help: "User name: a DNS-1123 label, e.g. alice.") var name: String
        @Option(help: "Display name, e.g. \"Alice Example\".") var displayName: String
        @Option(help: "Email address.") var email: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .POST, "/v1/users", body: ["name": name, "displayName": displayName, "email": email], idempotencyKey: nil)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users with their platform roles (admin, operator, auditor).")
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/users")
            printItems(response, as: api.output, columns: [("NAME", "name"), ("DISPLAY NAME", "displayName"), ("EMAIL", "email"),
                                                           ("PLATFORM ROLES", "platformRoles"), ("BUSINESS LINES", "businessLines"),
                                                           ("DISABLED", "disabled")])
        }
    }

    struct Roles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a user's platform roles (admin only); no --role removes them all.",
            discussion: "admin: everything. operator: Nginx and Kubernetes clusters, reads everything. auditor: reads everything (the whole audit, verify), writes nothing.")
        @Argument var name: String
        @Option(help: "admin, operator or auditor (repeatable).") var role: [String] = []
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .PUT, "/v1/platform-roles/\(percentEncoded(name))", body: ["roles": role], idempotencyKey: nil)
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user: their tokens stop working within a second (admin only).")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .PUT, "/v1/users/\(percentEncoded(name))/disabled", body: ["disabled": true], idempotencyKey: nil)
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled user again (admin only).")
        @Argument var name: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .PUT, "/v1/users/\(percentEncoded(name))/disabled", body: ["disabled": false], idempotencyKey: nil)
        }
    }

    struct Bootstrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the first admin and print their token (once).",
            discussion: """
            Talks to the store directly (WHARF_DATABASE_URL, or the private Postgres under WHARF_DATA_DIR), like `wharf
            projections`, and needs a running `wharf serve` to decide and project the commands. The user, their admin role
            and the token are commands in the log with actor system:bootstrap. Refused when an admin exists, unless --force
            (break-glass for whoever can reach the database: it is in the audit like everything else).
            A first `wharf serve` on an empty installation makes user "admin" itself (token from WHARF_BOOTSTRAP_TOKEN or
            printed once); that token can be revoked like any other.
            """)
        @Argument(help: "User name of the admin: a DNS-1123 label.") var name: String
        @Option(help: "Their email address (default NAME@wharf.local).") var email: String?
        @Flag(help: "Create this admin even though another admin exists.") var force = false

        func run() async throws {
            let logger = makeLogger("wharf-users")
            let store = try await WharfStore.open(try WharfSettings.fromEnvironment(), logger: logger, createTopics: false)
            let tracker = OutcomeTracker()
            let tail = Task { try await tracker.consumer(log: store.log, logger: logger).run() }
            defer { tail.cancel() }
            do {
                let tokens = TokenStore(database: store.database)
                try await tokens.prepare()
                let partitions = try await store.log.partitionCount(topic: Topics.commands)
                // A Wharf process: it holds the command keys, so the processors accept what it appends.
                let settings = try WharfSettings.fromEnvironment()
                let gateway = CommandGateway(log: store.log, database: store.database, tracker: tracker, partitions: partitions,
                                             registry: PrometheusCollectorRegistry(),
                                             authenticator: try CommandAuthenticator.loadOrCreate(path: settings.commandKeysFile))
                let outcome = try await IdentityBootstrap(gateway: gateway, queries: .init(database: store.database), tokens: tokens)
                    .firstAdmin(name: name, email: email, token: nil, tokenId: TokenStore.generateTokenId(), force: force)
                await store.close()
                switch outcome {
                case .created(let user, let token, _):
                    print("""
                        Admin "\(user)" created. Their token (shown once; store it now, only its hash is kept):
                          \(token)
                        Use it as:  export WHARF_TOKEN=\(token)
                        """)
                case .existing, .ignored:
                    FileHandle.standardError.write(Data("error: an admin exists already; ask them for a token (wharf tokens create), or pass --force\n".utf8))
                    throw ExitCode(1)
                }
            } catch {
                await store.close()
                throw error
            }
        }
    }
}
