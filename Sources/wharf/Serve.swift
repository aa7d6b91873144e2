import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import Server
import ServiceLifecycle
import EventLog
import Events
import Workers

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Wharf API, command processor and projector.",
        discussion: """
        Starts the private Postgres under WHARF_DATA_DIR unless WHARF_DATABASE_URL is set, creates the log topics and read models when missing, then serves the API on WHARF_HTTP_HOST:WHARF_HTTP_PORT until SIGINT or SIGTERM. On either signal it stops taking requests, lets the processor, projector and workers finish their current batches and release their partitions, and exits within 10 s. A start that fails (a bad setting, a port in use) stops the private Postgres it started.

        With WHARF_EVENT_LOG=kafka://host:port the log is on Kafka: topics are created when missing, an existing topic with another partition count is refused, and an unreachable broker is retried with backoff.

        Several `wharf serve` processes may share one database (and Kafka): each partition has one owner at a time, the partitions are spread evenly over the live processes, and survivors take over those of a process that dies.

        Builds (codeflows): a node with WHARF_REGISTRY=host[:port] runs the build worker (git, buildah and, for sandboxed scripts, root are needed); without it queued builds wait for a node that has one. ops/run starts a private registry on loopback when WHARF_REGISTRY is unset. WHARF_REGISTRY_USER / WHARF_REGISTRY_PASSWORD: registry credentials (Harbor). WHARF_REGISTRY_INSECURE=1: plain HTTP, no TLS checks (the default for loopback registries). WHARF_BUILD_PARALLELISM (default 2): builds at once on this node. WHARF_BUILD_UID (default 65534): the user build scripts run as. WHARF_BUILD_MEMORY_MB (default 4096) and WHARF_BUILD_MAX_PROCESSES (default 1024): a script's limits. WHARF_BUILDAH: the buildah binary. Mirrors, workspaces, image storage and build logs live in $WHARF_DATA_DIR/builds.
        """)

    func run() async throws {
        let settings = try WharfSettings.fromEnvironment()
        let builds = try BuildSettings.fromEnvironment(ProcessInfo.processInfo.environment, dataDirectory: settings.dataDirectory)
        let logger = makeLogger("wharf", default: .info)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let signer = try CheckpointSigner.loadOrCreate(path: settings.signingKeyFile)
        logger.info("checkpoints signed with key \(signer.keyId) (public key in \(settings.signingKeyFile).pub)")
        let store = try await WharfStore.open(settings, logger: logger)
        // From here on the store (and an embedded Postgres this process started) is closed on every way out.
        let group: ServiceGroup
        do {
            // A bad first-admin token is a bad setting: refuse to start (the bootstrap itself runs later, in the group).
            if let token = settings.bootstrapToken, token.count < 16 { throw BootstrapTokenTooShort() }
            var sso: JWTValidator?
            if let s = settings.sso {
                sso = try await JWKSLoader.validator(s)
                logger.info("SSO: JWTs of \(s.issuer) for \(s.audience), user from claim \(s.userClaim), keys from \(s.jwks)")
            }
            let secrets = try SecretKeyring.loadOrCreate(path: settings.secretKeysFile)
            logger.info("secret env values sealed with key \(secrets.activeKeyId) of \(settings.secretKeysFile)")
            let runtime = try await WharfRuntime(store: store, partitions: settings.partitions, registry: registry, logger: logger, signer: signer,
                                                 snapshotEvery: settings.snapshotEvery, sso: sso, secrets: secrets,
                                                 commandAuthenticator: try CommandAuthenticator.loadOrCreate(path: settings.commandKeysFile),
                                                 builds: builds)
            // The first admin is made through the log, so the processor and projector must run: a one-off service.
            runtime.readiness.pend("bootstrap", "making the first admin through the log")
            let bootstrap = BackgroundService("first admin") {
                do {
                    switch try await runtime.bootstrap(token: settings.bootstrapToken) {
                    case .created(let user, let token, generated: true):
                        print("""
                            First admin "\(user)" created. Their token (shown once; store it now, only its hash is kept):
                              \(token)
                            Use it as:  export WHARF_TOKEN=\(token)
                            """)
                    case .created(let user, _, generated: false):
                        print("First admin \"\(user)\" created with the token in WHARF_BOOTSTRAP_TOKEN.")
                    case .existing:
                        break
                    case .ignored(let why):
                        logger.warning("WHARF_BOOTSTRAP_TOKEN ignored: \(why)")
                    }
                    fflush(stdout)
                } catch {
                    if Task.isCancelled { return }
                    runtime.readiness.pend("bootstrap", "making the first admin failed: \(error)")
                    logger.error("making the first admin failed: \(error); /healthz says so until a restart")
                }
            }
            let server = try settings.tls.map { try HTTPSServer.builder(certificate: $0.certificate, key: $0.key) } ?? .http1()
            let scheme = settings.tls == nil ? "http" : "https"
            let app = Application(
                router: runtime.router(),
                server: server,
                configuration: .init(address: .hostname(settings.httpHost, port: settings.httpPort), serverName: "wharf"),
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? settings.httpPort
                    print("Wharf is listening on \(scheme)://\(settings.httpHost):\(port)")
                    fflush(stdout)
                },
                logger: logger)
            // Graceful shutdown runs in reverse order: the HTTP server stops taking requests first (answering those
            // in flight, whose decisions still arrive), then the workers, projector, processor and tracker end
            // their batches and release their partitions. What still runs after 8 s is cancelled.
            var configuration = ServiceGroupConfiguration(services: runtime.services + [.init(service: bootstrap, successTerminationBehavior: .ignore),
                                                                    .init(service: app)],
                                                          gracefulShutdownSignals: [.sigterm, .sigint],
                                                          logger: logger)
            configuration.maximumGracefulShutdownDuration = .seconds(8)
            configuration.maximumCancellationDuration = .seconds(1)
            group = ServiceGroup(configuration: configuration)
        } catch {
            await store.close()
            throw error
        }
        do {
            try await group.run()
        } catch {
            logger.error("wharf stopped: \(error)")
            await store.close()
            throw ExitCode.failure
        }
        logger.info("stopped; closing the store")
        await store.close()
    }
}

/// Log level from WHARF_LOG_LEVEL; the server defaults to info, one-shot commands to warning.
func makeLogger(_ label: String, default level: Logger.Level = .warning) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["WHARF_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? level
    return logger
}
