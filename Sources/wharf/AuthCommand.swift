import ArgumentParser
import Foundation

struct AuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth",
        abstract: "What your token is and may do.",
        subcommands: [Whoami.self, CanI.self])

    struct Whoami: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Your actor, platform roles and roles per business line.")
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/whoami")
            print(TableOutput.prettyJSON(response.body))
        }
    }

    struct CanI: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "can-i",
            abstract: "Whether you may do VERB on RESOURCE; exit 0 for yes, 1 for no.",
            discussion: """
            Examples: wharf auth can-i deploy service/payments-api
                      wharf auth can-i manage business-line/payments
                      wharf auth can-i write nginx-cluster/edge
            Verbs: read, deploy, manage (service/NAME, business-line/NAME); read, write (nginx-cluster/NAME, user/NAME, users);
            read, verify (audit).
            """)
        @Argument var verb: String
        @Argument var resource: String
        @OptionGroup var api: APIOptions
        func run() async throws {
            let response = try await api.client().call(.GET, "/v1/auth/can-i?verb=\(percentEncoded(verb))&resource=\(percentEncoded(resource))")
            let object = (response.json as? [String: Any]) ?? [:]
            let allowed = object["allowed"] as? Bool ?? false
            print(allowed ? "yes" : "no: \(string(object["reason"]))")
            if !allowed { throw ExitCode(1) }
        }
    }
}
