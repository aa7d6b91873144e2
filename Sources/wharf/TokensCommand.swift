import ArgumentParser
import Foundation

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Personal API tokens: create (secret shown once), list, revoke.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token for a user (yourself, or anyone as admin); prints the secret once.")
        @Argument(help: "The user the token speaks for.") var user: String
        @Option(help: "What the token is for, e.g. \"laptop\" or \"ci\".") var description: String
        @Option(help: "RFC 3339 expiry, e.g. 2027-01-31T00:00:00Z (default: no expiry).") var expiresAt: String?
        @OptionGroup var api: APIOptions
        func run() async throws {
            var body: [String: Any] = ["description": description]
            if let expiresAt { body["expiresAt"] = expiresAt }
            let response = try await api.client().call(.POST, "/v1/users/\(percentEncoded(user))/tokens", body: body)
            let object = (response.json as? [String: Any]) ?? [:]
            if api.output == .json { print(TableOutput.prettyJSON(response.body)); return }
            print("token \(string(object["id"])) for \(user) (shown once; only its hash is kept):\n  \(string(object["token"]))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a user's tokens (never their secrets).")
        @Argument var user: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/users/\(percentEncoded(user))/tokens")
            printItems(response, as: api.output, columns: [("ID", "id"), ("DESCRIPTION", "description"), ("EXPIRES", "expiresAt"),
                                                           ("REVOKED", "revoked"), ("CREATED", "createdAt")])
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token (its owner or an admin); refused everywhere within a second.")
        @Argument(help: "The token id (from `wharf tokens list`).") var id: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            try await write(api, .DELETE, "/v1/tokens/\(percentEncoded(id))", body: nil, idempotencyKey: nil)
        }
    }
}
