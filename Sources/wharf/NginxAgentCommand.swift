import ArgumentParser
import Crypto
import Events
import Foundation
import Logging
import Workers

struct NginxAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nginx-agent",
        abstract: "Keep one nginx node on its cluster's desired config version.",
        discussion: """
        Run one agent per nginx node, with that node's agent token (an admin issues it: \
        POST /v1/nginx/clusters/CLUSTER/nodes/NODE/token). Every --interval the agent pulls \
        the latest version that passed `nginx -t` in Wharf, and when it is new: writes it to \
        a temp file, renames it over PREFIX/nginx.conf, runs `nginx -t`, then reloads \
        (SIGHUP to the master, as `nginx -s reload` does; or starts nginx when it is not \
        running), waits until the new workers serve and the old ones have gone, and \
        reports applied/failed with both times. A failed test or reload puts the previous \
        file back. A live \
        nginx.conf that differs from what it applied is reported as drift (once per edit) \
        and left alone until the next version. Wharf needs no SSH access to the node.

        nginx runs as `nginx -p PREFIX -c PREFIX/nginx.conf`; the generated config keeps \
        its pid and logs under PREFIX/logs.
        """)

    @Option(help: "Nginx cluster name.") var cluster: String
    @Option(help: "This node's name in the cluster.") var node: String
    @Option(help: "nginx prefix directory holding nginx.conf and logs/.") var prefix: String
    @Option(help: "nginx binary (default: WHARF_NGINX, else nginx on PATH).") var nginx: String?
    @Option(help: "Seconds between polls.") var interval: Double = 2
    @Flag(help: "Run one round and exit.") var once = false
    @Option(help: "The installation's checkpoint public key (the .pub of WHARF_SIGNING_KEY_FILE; env WHARF_NGINX_TRUSTED_KEY). Pinned: only versions Wharf signed are applied, so write access to its database cannot push a config.")
    var trustedKey: String?
    @OptionGroup var api: APIOptions

    func run() async throws {
        var logger = Logger(label: "wharf.nginx-agent")
        logger.logLevel = Logger.Level(rawValue: ProcessInfo.processInfo.environment["WHARF_LOG_LEVEL"] ?? "info") ?? .info
        guard let binary = NginxCommandLine.find(nginx) else {
            throw ValidationError("nginx not found: pass --nginx PATH or set WHARF_NGINX")
        }
        guard interval > 0 else { throw ValidationError("--interval must be more than 0 seconds") }
        var pinned: Curve25519.Signing.PublicKey?
        if let trustedKey = trustedKey ?? ProcessInfo.processInfo.environment["WHARF_NGINX_TRUSTED_KEY"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let keys = try TrustedKeys(file: trustedKey)
            guard keys.keys.count == 1, let key = keys.keys.values.first else {
                throw ValidationError("--trusted-key: \(trustedKey) must hold exactly one base64 Ed25519 public key")
            }
            pinned = key
        } else {
            logger.warning("no --trusted-key: versions are applied as served, unsigned; pin the installation's public key in production")
        }
        let agent = NginxAgent(client: try api.client(), cluster: cluster, node: node,
                               applier: NginxNodeApplier(nginx: binary, prefix: prefix), logger: logger, trustedKey: pinned)
        logger.info("nginx agent for node \(node) of cluster \(cluster), prefix \(prefix)")
        while true {
            do {
                if let done = try await agent.tick() { logger.info("\(done)") }
            } catch {
                if once { throw error }
                logger.error("\(error); retrying in \(interval) s")
            }
            if once { return }
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }
}
