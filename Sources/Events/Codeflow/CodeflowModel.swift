/// A service's build definition: where its code lives, which pushes build it, and how the image is made.
/// The webhook secret is not part of it (commands and events carry it sealed, beside the spec).
public struct CodeflowSpec: Codable, Hashable, Sendable {
    public var service: String
    /// http(s)://, ssh://, git://, user@host:path or file:///path.
    public var repository: String
    /// Branch globs ("main", "release/*"); a push to another branch is recorded as ignored.
    public var branches: [String]
    /// Run by `/bin/sh -e` in a scratch checkout as an unprivileged user.
    public var buildScript: String
    /// What the script leaves for the image, relative to the checkout (a file or directory).
    public var artifactPath: String
    /// The container's command (`/bin/sh -c <startCommand>`).
    public var startCommand: String
    public var baseImage: String
    /// A Dockerfile of the team's own, used instead of the generated one.
    public var dockerfile: String?
    /// Installs dependencies into a layer of its own, reused while its inputs are unchanged.
    public var preprocessScript: String?
    /// Files of the checkout the preprocess step reads (requirements.txt, package-lock.json); part of its cache key.
    public var dependencyFiles: [String]?
    /// The build script's time limit (default 1800 s).
    public var timeoutSeconds: Int?
    /// How many builds of this codeflow may run at once across every node (absent: as many as the nodes' own
    /// build slots allow). 1 keeps a service's builds in order, as Jenkins does by default.
    public var parallelism: Int?

    public init(service: String, repository: String, branches: [String], buildScript: String, artifactPath: String, startCommand: String,
                baseImage: String, dockerfile: String? = nil, preprocessScript: String? = nil, dependencyFiles: [String]? = nil,
                timeoutSeconds: Int? = nil, parallelism: Int? = nil) {
        self.service = service; self.repository = repository; self.branches = branches; self.buildScript = buildScript
        self.artifactPath = artifactPath; self.startCommand = startCommand; self.baseImage = baseImage; self.dockerfile = dockerfile
        self.preprocessScript = preprocessScript; self.dependencyFiles = dependencyFiles; self.timeoutSeconds = timeoutSeconds
        self.parallelism = parallelism
    }

    public static let defaultTimeoutSeconds = 1800
    public var timeLimitSeconds: Int { timeoutSeconds ?? Self.defaultTimeoutSeconds }
}

/// What asked for a build.
public struct BuildTrigger: Codable, Hashable, Sendable {
    public enum Source: String, Codable, Hashable, Sendable, CaseIterable { case manual, gitlab, github, retry }
    public var source: Source
    /// The provider's event: "push", "tag_push", "merge_request" (absent for manual builds and retries).
    public var event: String?
    /// The provider's delivery id (X-Gitlab-Event-UUID / Idempotency-Key, X-GitHub-Delivery).
    public var delivery: String?
    /// Who pushed, as the payload or the token says.
    public var user: String
    public init(source: Source, event: String? = nil, delivery: String? = nil, user: String) {
        self.source = source; self.event = event; self.delivery = delivery; self.user = user
    }
}

/// Milliseconds spent per phase of a build, by phase name (fetch, script, preprocess, image, push).
public typealias BuildPhases = [String: Int]

public enum BuildOutcome: String, Codable, Hashable, Sendable { case succeeded, failed }
