// swift-tools-version:6.1
import PackageDescription

// Module rooms follow docs/DESIGN.md: data flows Events -> EventLog -> Commands/Projections/Workers -> Server -> wharf.
let package = Package(
    name: "wharf",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "wharf", targets: ["wharf"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .target(name: "Events", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // librdkafka's C API (apt librdkafka-dev, pkg-config rdkafka); our own Swift wrapper lives in EventLog/Kafka.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .target(name: "EventLog", dependencies: [
            "Events", "CRdKafka",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Commands", dependencies: [
            "Events", "EventLog",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .target(name: "Projections", dependencies: ["Events", "EventLog"]),
        .target(name: "Workers", dependencies: [
            "Events", "EventLog", "Projections",
            .product(name: "Crypto", package: "swift-crypto"),
            // The registry's API v2 (digests of pushed and base images, the preprocess cache).
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .target(name: "Server", dependencies: [
            "Events", "EventLog", "Commands", "Projections", "Workers",
            .product(name: "Hummingbird", package: "hummingbird"),
            // RS256 signatures of SSO tokens (ES256 is in Crypto).
            .product(name: "CryptoExtras", package: "swift-crypto"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "wharf", dependencies: [
            "Events", "EventLog", "Commands", "Projections", "Workers", "Server",
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Finds the services ops/test started (Postgres) and makes scratch databases; shared by the test targets.
        .target(name: "TestSupport", dependencies: ["EventLog"], path: "Tests/TestSupport"),
        .testTarget(name: "EventsTests", dependencies: ["Events", "TestSupport"]),
        .testTarget(name: "EventLogTests", dependencies: ["Events", "EventLog", "TestSupport"]),
        .testTarget(name: "CommandsTests", dependencies: ["Events", "EventLog", "Commands", "TestSupport"]),
        .testTarget(name: "WorkersTests", dependencies: ["Events", "EventLog", "Commands", "Projections", "Workers", "TestSupport"]),
        .testTarget(name: "ProjectionsTests", dependencies: ["Events", "EventLog", "Commands", "Projections", "TestSupport"]),
        .testTarget(name: "ServerTests", dependencies: [
            "Events", "EventLog", "Commands", "Projections", "Server", "Workers", "TestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
        ]),
    ],
    // Swift 5 language mode for now: the NIO/Postgres plumbing is not yet annotated for strict concurrency.
    swiftLanguageModes: [.v5]
)
