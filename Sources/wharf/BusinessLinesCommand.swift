import ArgumentParser
import Foundation

struct BusinessLinesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "business-lines",
        abstract: "Business lines and who holds which role in them.",
        discussion: "Roles in a line: viewer (reads its services), developer (also scale, upgrade, rollback), owner (also create, change, destroy services, grant roles in the line).",
        subcommands: [Create.self, List.self, Grant.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a business line (admin only).")
        @Argument(help: "Name: a DNS-1123 label, e.g. payments.") var name: String
        @Option(help: "Display name.") var displayName: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .POST, "/v1/business-lines", body: ["name": name, "displayName": displayName], idempotencyKey: nil)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List business lines (yours, unless you hold a platform role) with their members.")
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/business-lines")
            printItems(response, as: api.output, columns: [("NAME", "name"), ("DISPLAY NAME", "displayName"), ("MEMBERS", "members")])
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a user a role in a line (owners of the line, admins).")
        @Argument var line: String
        @Argument var user: String
        @Option(help: "viewer, developer or owner.") var role: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .PUT, "/v1/business-lines/\(percentEncoded(line))/members/\(percentEncoded(user))", body: ["role": role],
                            idempotencyKey: nil)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user's role in a line (owners of the line, admins).")
        @Argument var line: String
        @Argument var user: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .DELETE, "/v1/business-lines/\(percentEncoded(line))/members/\(percentEncoded(user))", body: nil, idempotencyKey: nil)
        }
    }
}
