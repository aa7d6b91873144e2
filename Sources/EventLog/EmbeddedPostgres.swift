import Crypto
import Foundation
import Events

/// The private Postgres cluster Wharf runs when no WHARF_DATABASE_URL is given: created under the data
/// directory on first start, reached over a unix socket only (no TCP port to collide with), started and
/// stopped with Wharf. Postgres refuses to run as root, so as root the cluster runs as the `postgres` user.
public struct EmbeddedPostgres: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let clusterDirectory: String
    public let socketDirectory: String
    public let logFile: String
    private let runAsUser: String?

    public init(dataDirectory: String) throws {
        let data = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let tag = HashChain.hex(SHA256.hash(data: Array(data.utf8)).prefix(6))
        runAsUser = getuid() == 0 ? "postgres" : nil
        var cluster = data + "/postgres"
        if let user = runAsUser, !Self.traversable(data, by: user) {
            // The postgres user cannot reach a cluster under this directory (e.g. under /root, or a private 0700
            // directory from mktemp -d); keep it in a system location instead and leave a note where it is.
            cluster = "/var/lib/wharf/postgres-\(tag)"
            try? "\(cluster)\n".write(toFile: data + "/postgres-location", atomically: true, encoding: .utf8)
        }
        clusterDirectory = cluster
        socketDirectory = "/tmp/wharf-pg-\(tag)"
        logFile = cluster + ".log"
    }

    public var settings: DatabaseSettings {
        DatabaseSettings(host: nil, port: 5432, socketDirectory: socketDirectory, username: "wharf", database: "wharf")
    }

    /// Starts the cluster if it is not running; returns true when this call started it.
    @discardableResult
    public func start() throws -> Bool {
        let fm = FileManager.default
        try prepareSocketDirectory()
        let parent = (clusterDirectory as NSString).deletingLastPathComponent
        try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
        if !fm.fileExists(atPath: clusterDirectory + "/PG_VERSION") {
            try fm.createDirectory(atPath: clusterDirectory, withIntermediateDirectories: true)
            try chownForPostgres(clusterDirectory)
            try run("initdb", ["-D", clusterDirectory, "-U", "wharf", "--auth=trust", "-E", "UTF8", "--no-locale"], what: "initdb")
            try """
            listen_addresses = ''
            unix_socket_directories = '\(socketDirectory)'
            port = 5432
            unix_socket_permissions = 0700
            max_connections = 200
            shared_buffers = 256MB
            synchronous_commit = on
            fsync = on
            """.appendLine(to: clusterDirectory + "/postgresql.auto.conf")
        }
        try chownForPostgres(socketDirectory)
        if !fm.fileExists(atPath: logFile) { fm.createFile(atPath: logFile, contents: nil) }
        try chownForPostgres(logFile)
        var started = false
        if (try? run("pg_ctl", ["-D", clusterDirectory, "status"], what: "pg_ctl status")) == nil {
            try run("pg_ctl", ["-D", clusterDirectory, "-l", logFile, "-w", "-t", "60", "start"], what: "pg_ctl start")
            started = true
        }
        try createDatabaseIfMissing()
        return started
    }

    /// The socket is the only way in (trust auth), so its directory must be ours alone: mode 0700, owned by us
    /// (or, as root, by the postgres user). A directory someone else planted there is refused.
    private func prepareSocketDirectory() throws {
        let fm = FileManager.default
        if !fm.fileExists(atPath: socketDirectory) {
            try fm.createDirectory(atPath: socketDirectory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        }
        var info = stat()
        guard lstat(socketDirectory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw Failure(description: "\(socketDirectory) is not a directory; remove it and start again")
        }
        let postgresUID = runAsUser.flatMap { getpwnam($0)?.pointee.pw_uid }
        guard info.st_uid == getuid() || info.st_uid == postgresUID else {
            throw Failure(description: "\(socketDirectory) belongs to another user (uid \(info.st_uid)); refusing to put Wharf's database socket there")
        }
        chmod(socketDirectory, 0o700)
    }

    public func stop() {
        _ = try? run("pg_ctl", ["-D", clusterDirectory, "-m", "fast", "-w", "stop"], what: "pg_ctl stop")
    }

    private func createDatabaseIfMissing() throws {
        let psql = Self.find("psql") ?? "psql"
        let check = try Self.capture([psql, "-h", socketDirectory, "-U", "wharf", "-d", "postgres", "-tAc",
                                      "SELECT 1 FROM pg_database WHERE datname = 'wharf'"])
        if check.trimmingCharacters(in: .whitespacesAndNewlines) != "1" {
            _ = try Self.capture([psql, "-h", socketDirectory, "-U", "wharf", "-d", "postgres", "-c", "CREATE DATABASE wharf"])
        }
    }

    private func chownForPostgres(_ path: String) throws {
        guard let user = runAsUser else { return }
        _ = try Self.capture(["/bin/chown", "-R", "\(user):\(user)", path])
    }

    @discardableResult
    private func run(_ tool: String, _ args: [String], what: String) throws -> String {
        guard let path = Self.find(tool) else {
            throw Failure(description: "\(tool) not found: install PostgreSQL server binaries (apt-get install postgresql), or set WHARF_DATABASE_URL")
        }
        let argv = runAsUser.map { ["/usr/sbin/runuser", "-u", $0, "--", path] } ?? [path]
        do {
            return try Self.capture(argv + args)
        } catch let failure as Failure {
            throw Failure(description: "\(what) failed: \(failure.description) (see \(logFile))")
        }
    }

    /// PATH first, then Debian's versioned directories, newest first.
    static func find(_ tool: String) -> String? {
        let fm = FileManager.default
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(dir)/\(tool)"
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted(by: >)
        for v in versions where fm.isExecutableFile(atPath: "/usr/lib/postgresql/\(v)/bin/\(tool)") {
            return "/usr/lib/postgresql/\(v)/bin/\(tool)"
        }
        return nil
    }

    /// Whether `user` may search `path` itself and every directory above it, by the owner, group and other bits
    /// that apply to that user (its primary and supplementary groups).
    static func traversable(_ path: String, by user: String) -> Bool {
        guard let entry = getpwnam(user) else { return false }
        let uid = entry.pointee.pw_uid, gid = entry.pointee.pw_gid
        var groups = [gid_t](repeating: 0, count: 64)
        var count = Int32(groups.count)
        if getgrouplist(user, gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            if getgrouplist(user, gid, &groups, &count) < 0 { count = 0 }
        }
        let memberOf = Set(groups.prefix(Int(count))).union([gid])
        var current = URL(fileURLWithPath: path).standardizedFileURL
        while true {
            var info = stat()
            guard stat(current.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return false }
            let bit: mode_t = info.st_uid == uid ? S_IXUSR : memberOf.contains(info.st_gid) ? S_IXGRP : S_IXOTH
            if info.st_mode & bit == 0 { return false }
            if current.path == "/" { return true }
            current.deleteLastPathComponent()
        }
    }

    /// Runs a program to completion and returns its combined output; a non-zero exit is an error.
    static func capture(_ argv: [String]) throws -> String {
        let result: ChildProcess.Result
        do { result = try ChildProcess.run(argv) } catch { throw Failure(description: "\(error)") }
        guard result.status == 0 else { throw Failure(description: "exit \(result.status): \(result.output.suffix(2000))") }
        return result.output
    }
}

private extension String {
    func appendLine(to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((self + "\n").utf8))
    }
}
