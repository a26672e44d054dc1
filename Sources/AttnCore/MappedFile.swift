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
/// rename, which leaves a mapped file whole.) MiniLM's weights are read through their mapping for
/// as long as the model is loaded; SmolLM2's only while it loads, as they are dequantized.
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

/// Catches SIGBUS raised by reading a mapped model file that was truncated after it was mapped,
/// and ends the process with one line that says so, rather than a crash and a backtrace.
///
/// The handler may run at any instruction, so it does only what is async-signal-safe: it looks the
/// faulting address up in a fixed table of the live mappings (filled under a lock outside the
/// handler), `write`s the message prepared for that mapping, and `_exit(1)`s. A SIGBUS at any
/// other address is not attn's to explain: the previous handler is put back and the fault
/// happens again, as if attn had never installed one.
enum TruncationGuard {
    struct Slot {
        var start: UInt = 0
        var end: UInt = 0
        /// `error: … (path); start attn again\n`, allocated once per mapping; nil for a free slot.
        var message: UnsafeMutablePointer<CChar>?
        var length = 0
    }

    /// The most mappings the table tracks; a process of attn has a handful.
    static let capacity = 64

    private static let lock = NSLock()
    private static let installed: Bool = {
        slots = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        slots?.initialize(repeating: Slot(), count: capacity)
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = truncationHandler
        action.sa_flags = SA_SIGINFO | SA_ONSTACK
        sigemptyset(&action.sa_mask)
        return sigaction(SIGBUS, &action, &previousAction) == 0
    }()

    /// The message for a mapping of `path`.
    static func message(_ path: String) -> String {
        "error: a model file was changed or truncated while attn was reading it (\(path)); start attn again\n"
    }

    static func register(_ file: MappedFile) {
        guard let base = file.base else { return }
        lock.lock()
        defer { lock.unlock() }
        guard installed, let slots, let free = (0..<capacity).first(where: { slots[$0].message == nil }) else { return }
        let text = message(file.path)
        slots[free].start = UInt(bitPattern: base)
        slots[free].end = UInt(bitPattern: base) + UInt(file.size)
        slots[free].length = text.utf8.count
        slots[free].message = strdup(text)  // last: the handler reads a slot only once this is set
    }

    static func unregister(_ file: MappedFile) {
        guard let base = file.base else { return }
        lock.lock()
        defer { lock.unlock() }
        guard let slots else { return }
        for i in 0..<capacity where slots[i].message != nil && slots[i].start == UInt(bitPattern: base) {
            let message = slots[i].message
            slots[i].message = nil
            free(message)
        }
    }
}

/// The live mappings, for the handler (statically initialized, so reading it needs no lazy setup).
nonisolated(unsafe) private var slots: UnsafeMutablePointer<TruncationGuard.Slot>?
/// The SIGBUS action before attn's, put back for a fault that is not in a model file.
nonisolated(unsafe) private var previousAction = sigaction()

private func truncationHandler(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _: UnsafeMutableRawPointer?) {
    if let info, let slots {
        let address = UInt(bitPattern: info.pointee._sifields._sigfault.si_addr)
        for i in 0..<TruncationGuard.capacity {
            let slot = slots[i]
            if let message = slot.message, slot.start <= address, address < slot.end {
                _ = write(STDERR_FILENO, message, slot.length)
                _exit(1)
            }
        }
    }
    sigaction(SIGBUS, &previousAction, nil)
}
