import Foundation

/// Files and directories that only this user can reach, created so that nothing planted beforehand can redirect
/// them: a file is opened with O_CREAT|O_EXCL|O_NOFOLLOW (an existing entry, a symlink included, makes the open fail
/// instead of being followed), a directory comes from mkdtemp (fresh random name, mode 0700).
public enum PrivateFile {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The errno of the failed call.
        public var code: Int32
    }

    static func failure(_ what: String) -> Failure {
        let code = errno
        return Failure(description: "\(what): \(String(cString: strerror(code)))", code: code)
    }

    /// Creates `path` (it must not exist) with mode 0600 and returns the open descriptor (close-on-exec).
    public static func create(_ path: String, readable: Bool = false) throws -> Int32 {
        let fd = open(path, (readable ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot create \(path)") }
        return fd
    }

    /// Writes `data` to `temp` (created exclusively, mode 0600) and renames it over `path`, so readers see the old
    /// file or the new one, never a part. A leftover at `temp` (a crash between create and rename, or a planted
    /// symlink) is unlinked (unlink removes a link itself, never its target) and the create tried once more.
    public static func replace(_ path: String, with data: Data, temp: String) throws {
        let fd: Int32
        do {
            fd = try create(temp)
        } catch let failure as Failure where failure.code == EEXIST {
            guard unlink(temp) == 0 || errno == ENOENT else { throw Self.failure("cannot remove the leftover \(temp)") }
            fd = try create(temp)
        }
        do {
            defer { close(fd) }
            try writeAll(fd, data, path: temp)
        } catch {
            unlink(temp)
            throw error
        }
        guard rename(temp, path) == 0 else {
            let failure = Self.failure("cannot rename \(temp) to \(path)")
            unlink(temp)
            throw failure
        }
    }

    /// A new directory `<parent>/<prefix>XXXXXX` with a random suffix and mode 0700 (mkdtemp).
    public static func makeDirectory(in parent: String, prefix: String) throws -> String {
        let base = parent.hasSuffix("/") ? parent : parent + "/"
        var template = Array((base + prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw failure("cannot create a private directory in \(parent)") }
        return String(cString: template)
    }

    public static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var done = 0
            while done < buffer.count {
                let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("cannot write \(path)")
                }
                done += n
            }
        }
    }
}
