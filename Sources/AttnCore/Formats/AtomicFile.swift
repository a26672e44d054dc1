import Foundation

/// Writing files so that a failure never leaves half a file behind.
public enum AtomicFile {
    /// Writes `data` to a temporary file beside `path`, then renames it into place.
    /// - Throws: `.fileUnwritable` with the system's reason (a directory, no permission, disk full).
    public static func write(_ data: Data, to path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw AttnError.fileUnwritable(path: path, reason: "it is a directory")
        }
        // A device or pipe (say /dev/full or /dev/stdout) is written in place: renaming over it
        // would replace the device with a file.
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            return try writeAll(data, to: path, flags: O_WRONLY, final: path)
        }
        let directory = (path as NSString).deletingLastPathComponent
        // The name is cut short if need be: a file name has at most 255 bytes, and the target's
        // own may already have all of them.
        var name = Substring((path as NSString).lastPathComponent)
        while name.utf8.count > 200 { name.removeLast() }
        let temporary = (directory.isEmpty ? "." : directory) + "/.\(name).\(getpid()).tmp"
        // Whatever has that name (a file left by an earlier run, or a symbolic link planted to
        // someone else's file) is removed, and O_EXCL refuses to follow one that appears meanwhile:
        // the data only ever goes into a file this call creates.
        unlink(temporary)
        try writeAll(data, to: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, final: path)
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw AttnError.fileUnwritable(path: path, reason: reason)
        }
    }

    /// Writes every byte to `target` and flushes it; on failure removes a regular file it created.
    private static func writeAll(_ data: Data, to target: String, flags: Int32, final path: String) throws {
        let fd = open(target, flags, 0o644)
        guard fd >= 0 else {
            throw AttnError.fileUnwritable(path: path, reason: String(cString: strerror(errno)))
        }
        var failure = data.withUnsafeBytes { writeFully(fd, $0) }.map { String(cString: strerror($0)) }
        if failure == nil, fsync(fd) != 0, errno != EINVAL { failure = String(cString: strerror(errno)) }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if let failure {
            if target != path { unlink(target) }
            throw AttnError.fileUnwritable(path: path, reason: failure)
        }
    }
}
