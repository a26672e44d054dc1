import Foundation

/// The small files that keep a learner's state between sessions (history, lesson progress).
///
/// Whatever is at their paths is untrusted: a FIFO would block a plain `open` forever, a link
/// would have attn write into its target, and a file can be any size. So every open here is
/// `O_NOFOLLOW | O_NONBLOCK` followed by `fstat`: only a regular file is read or written, and
/// only up to a limit; a whole file is replaced by renaming a new one over it.
public enum StateFile {
    /// What was read: the bytes, and whether they are the whole file.
    public struct Contents {
        public let data: Data
        /// False when only the file's last bytes were read (see `read(_:limit:keepingEnd:)`).
        public let isComplete: Bool
    }

    /// Reads the regular file at `path`; nil if nothing is there.
    /// - Parameters:
    ///   - limit: the most bytes read.
    ///   - keepingEnd: for a larger file, read its last `limit` bytes from the start of a line
    ///     (a history keeps its newest lines) instead of refusing it.
    /// - Throws: `AttnError.fileUnreadable` for a link, FIFO, device, directory or socket, for a
    ///   file larger than `limit` (unless `keepingEnd`), and for a read error.
    public static func read(_ path: String, limit: Int, keepingEnd: Bool = false) throws -> Contents? {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }  // nothing there (yet)
            throw AttnError.fileUnreadable(path: path, reason: reason(errno))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw AttnError.fileUnreadable(path: path, reason: reason(errno)) }
        if let kind = irregularKind(info) { throw AttnError.fileUnreadable(path: path, reason: kind) }
        let size = Int(info.st_size)
        var offset = 0
        if size > limit {
            guard keepingEnd else {
                throw AttnError.fileUnreadable(path: path, reason: "it has \(size) bytes, more than the \(limit) attn reads: remove it")
            }
            offset = size - limit
        }
        var bytes = [UInt8](repeating: 0, count: min(size, limit))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + filled, $0.count - filled, off_t(offset + filled))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw AttnError.fileUnreadable(path: path, reason: reason(errno))
            }
            if count == 0 { break }  // the file shrank meanwhile
            filled += count
        }
        var kept = bytes[..<filled]
        if offset > 0, let newline = kept.firstIndex(of: UInt8(ascii: "\n")) {
            kept = kept[(newline + 1)...]  // the first line was cut: drop it
        }
        return Contents(data: Data(kept), isComplete: offset == 0)
    }

    /// Replaces the file at `path` with `data` in one rename: a reader sees the old file or the
    /// new one, never half of either. The directory is created if need be.
    /// - Throws: `AttnError.fileUnwritable` when `path` is a link or anything but a regular file
    ///   (it is left as it is), or when the file cannot be written (no permission, disk full).
    public static func write(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try createDirectory(directory, for: path)
        try refuseIrregular(path)
        let temporary = directory + "/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        unlink(temporary)  // left by an earlier run of this process id; O_EXCL below refuses a new one
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw AttnError.fileUnwritable(path: path, reason: reason(errno)) }
        var failure = data.withUnsafeBytes { writeFully(descriptor, $0) }
        if failure == nil, fsync(descriptor) != 0 { failure = errno }
        if close(descriptor) != 0, failure == nil { failure = errno }
        if failure == nil {
            do { try refuseIrregular(path) } catch {
                unlink(temporary)
                throw error
            }
            if rename(temporary, path) != 0 { failure = errno }
        }
        if let failure {
            unlink(temporary)
            throw AttnError.fileUnwritable(path: path, reason: reason(failure))
        }
    }

    /// Appends `line` and a line end to the regular file at `path`, creating it if need be. One
    /// `write` with `O_APPEND`: two sessions appending at once interleave whole lines.
    /// - Returns: whether this call created the file.
    /// - Throws: `AttnError.fileUnwritable` for a link, anything but a regular file, or a failed write.
    @discardableResult
    public static func append(_ line: [UInt8], to path: String) throws -> Bool {
        try createDirectory((path as NSString).deletingLastPathComponent, for: path)
        let flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
        var created = true
        var descriptor = open(path, flags | O_CREAT | O_EXCL, 0o600)
        if descriptor < 0 && errno == EEXIST {
            created = false
            descriptor = open(path, flags)
        }
        guard descriptor >= 0 else { throw AttnError.fileUnwritable(path: path, reason: reason(errno)) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw AttnError.fileUnwritable(path: path, reason: reason(errno)) }
        if let kind = irregularKind(info) { throw AttnError.fileUnwritable(path: path, reason: kind) }
        if line.isEmpty { return created }
        if let failure = (line + [UInt8(ascii: "\n")]).withUnsafeBytes({ writeFully(descriptor, $0) }) {
            throw AttnError.fileUnwritable(path: path, reason: reason(failure))
        }
        return created
    }

    // MARK: Helpers

    /// Creates `directory` and its parents (mode 0700) as `mkdir -p` does, with the system's
    /// reason when it cannot.
    private static func createDirectory(_ directory: String, for path: String) throws {
        var info = stat()
        if stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { return }
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST { break }
        }
        guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            let reason = errno == 0 || errno == EEXIST ? "it is not a directory" : String(cString: strerror(errno))
            throw AttnError.fileUnwritable(path: path, reason: "cannot create \(prefix) (\(reason)): set XDG_STATE_HOME to a directory you can write")
        }
    }

    /// Throws when something other than a regular file (a link included) is at `path`.
    private static func refuseIrregular(_ path: String) throws {
        var info = stat()
        if lstat(path, &info) == 0, let kind = irregularKind(info) {
            throw AttnError.fileUnwritable(path: path, reason: kind)
        }
    }

    /// Nil for a regular file, else what the file is and what to do, as a reason.
    private static func irregularKind(_ info: stat) -> String? { irregularKind(info.st_mode) }

    private static func irregularKind(_ mode: mode_t) -> String? {
        let kind: String
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFLNK: kind = "a symbolic link, which attn does not follow for its state"
        case S_IFIFO: kind = "a FIFO, not a regular file"
        case S_IFDIR: kind = "a directory, not a regular file"
        case S_IFSOCK: kind = "a socket, not a regular file"
        default: kind = "a device, not a regular file"
        }
        return "it is \(kind): remove it"
    }

    /// The system's reason for an error number; `O_NOFOLLOW` reports a link as ELOOP.
    private static func reason(_ code: Int32) -> String {
        code == ELOOP ? irregularKind(S_IFLNK)! : String(cString: strerror(code))
    }
}
