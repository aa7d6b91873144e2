import Foundation

/// A build's log on this node's disk (`<root>/logs/<build id>.log`): what every step printed, in order, with a
/// line per step. Build steps write to its descriptor directly, so a reader following the file sees output as it comes.
final class BuildLogFile: @unchecked Sendable {
    let path: String
    let fd: Int32

    init(directory: String, buildId: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        path = "\(directory)/\(buildId).log"
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw BuildFailure("cannot open the build log \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    func line(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}

/// Why a build failed, in words for its `reason`.
struct BuildFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
