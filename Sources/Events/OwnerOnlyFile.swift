import Foundation

/// Reads a file that holds a secret key: opened without following a symlink and checked on the open file, it must
/// be a regular file of the user running Wharf that nobody else may read or write.
public enum OwnerOnlyFile {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public static func read(_ path: String) throws -> Data {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open the key file \(path) (a symlink is refused): \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw Failure(description: "the key file \(path) is not a regular file") }
        if info.st_uid != geteuid() {
            throw Failure(description: "the key file \(path) belongs to user \(info.st_uid), not to the user running Wharf (\(geteuid()))")
        }
        if info.st_mode & 0o077 != 0 {
            throw Failure(description: "the key file \(path) may be read by others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        guard let data = try handle.readToEnd() else { throw Failure(description: "cannot read the key file \(path)") }
        return data
    }
}
