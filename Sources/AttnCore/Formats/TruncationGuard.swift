import Foundation

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
