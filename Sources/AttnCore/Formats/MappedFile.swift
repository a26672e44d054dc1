import Foundation

/// A file mapped read-only into memory.
///
/// Weight files are hundreds of megabytes; mapping them lets the kernel page in only what is read
/// and share the pages between runs. The mapping lives as long as this object.
///
/// A mapping trusts the file to stay as it was: if another process truncates it, reading a page
/// past the new end raises SIGBUS, and no Swift code can recover from that. ``TruncationGuard``
/// turns it into one line on standard error and exit status 1 instead of a crash. (Writing into
/// the file in place changes the weights under attn silently; `attn fetch` replaces files by a
/// rename, which leaves a mapped file whole.) MiniLM's weights, SmolLM2's and Gemma 3's Q8_0 and
/// Q4_1 tensors are read through their mapping for as long as the model is loaded.
public final class MappedFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only and never changes after init, so sharing it is safe.

    /// The path the file was opened from (for error messages).
    public let path: String
    /// The file's size in bytes.
    public let size: Int
    /// The first byte of the mapping (nil for an empty file).
    public let base: UnsafeRawPointer?

    /// Maps `path` read-only.
    /// - Throws: `AttnError.fileUnreadable` when the file cannot be opened, is a directory, or cannot be mapped.
    public init(path: String) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever; the
        // check below then refuses it. On a regular file the flag changes nothing.
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else {
            throw AttnError.fileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw AttnError.fileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw AttnError.fileUnreadable(path: path, reason: "not a regular file")
        }
        size = Int(info.st_size)
        if size == 0 {
            base = nil
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw AttnError.fileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(address)
        TruncationGuard.register(self)
    }

    /// The bytes of a small file such as config.json or vocab.txt, read through a mapping;
    /// nil when there is no such file.
    ///
    /// `stat` first, so that a FIFO or a device is refused as "not a regular file" without being
    /// opened (reading a FIFO would wait for a writer, a device could stream forever), and a file
    /// larger than `limit` is refused before it is read.
    /// - Throws: `.fileUnreadable` naming the reason.
    public static func contents(of path: String, limit: Int) throws -> [UInt8]? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw AttnError.fileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw AttnError.fileUnreadable(path: path, reason: (info.st_mode & S_IFMT) == S_IFDIR ? "it is a directory" : "not a regular file")
        }
        guard Int(info.st_size) <= limit else {
            throw AttnError.fileUnreadable(path: path, reason: "it has \(info.st_size) bytes, more than the \(limit) such a file can need")
        }
        let file = try MappedFile(path: path)
        return [UInt8](file.bytes(0..<file.size))
    }

    deinit {
        if let base {
            TruncationGuard.unregister(self)
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        }
    }

    /// The bytes `range` as a buffer (valid while `self` lives).
    /// - Precondition: the range lies inside the file; callers validate it first.
    public func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= size)
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// A little-endian integer at byte `offset`. - Precondition: it fits inside the file.
    public func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= size)
        guard let base else { return 0 }  // unreachable: an empty file has no offset that fits
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
