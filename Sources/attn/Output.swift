import AttnCore
import Foundation

/// Standard output and standard error, written with `write(2)`: every byte, or a failure that
/// is reported. Foundation's `FileHandle.write` traps on a full disk or a closed pipe, and
/// `print` buffers and drops the error; the transcript goes through here instead.
enum Output {
    /// Why a write failed, in the system's words (`No space left on device`, `Broken pipe`).
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Descriptors 0, 1 and 2 that were closed when attn started (`attn >&-`).
    nonisolated(unsafe) private static var closedAtStart: Set<Int32> = []

    /// Occupies standard input, output and error with /dev/null, opened for reading only, where
    /// they are closed: the next file attn opens would otherwise become its standard output, and
    /// a write to it now fails (EBADF) instead of landing in that file.
    static func reserveStandardDescriptors() {
        for descriptor in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO]
        where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            closedAtStart.insert(descriptor)
            let opened = open("/dev/null", O_RDONLY)
            if opened >= 0 && opened != descriptor {
                dup2(opened, descriptor)
                close(opened)
            }
        }
    }

    /// Writes all of `text` to `descriptor`, resuming after signals and partial writes.
    /// - Throws: `Failure` with the system's reason when a byte cannot be written.
    static func write(_ text: String, to descriptor: Int32) throws(Failure) {
        if text.isEmpty { return }
        fflush(nil)  // whatever readline (or a library) buffered comes first
        var text = text
        // A non-blocking descriptor, inherited, is waited on until it drains (EAGAIN).
        guard let failure = text.withUTF8({ writeFully(descriptor, UnsafeRawBufferPointer($0)) }) else { return }
        if closedAtStart.contains(descriptor) {
            throw Failure(description: descriptor == STDOUT_FILENO ? "standard output is closed" : "the descriptor is closed")
        }
        throw Failure(description: String(cString: strerror(failure)))
    }

    /// Writes to standard output; when that fails, says so in one line on standard error and
    /// ends attn with status 1 — going on would only compute what no one can read.
    static func standard(_ text: String) {
        do {
            try write(text, to: STDOUT_FILENO)
        } catch {
            fail(error)
        }
    }

    /// Reports an output that cannot be written and exits with status 1.
    static func fail(_ failure: Failure) -> Never {
        error("attn: cannot write the output: \(failure)\n")
        exit(1)
    }

    /// Writes to standard error, as well as it can: there is nowhere left to report a failure.
    static func error(_ text: String) {
        try? write(text, to: STDERR_FILENO)
    }
}
