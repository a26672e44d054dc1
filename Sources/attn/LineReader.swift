import Foundation
import Notebook

/// Lines read from a file descriptor a buffer at a time, each held to a byte budget, so that a
/// script of any size (or /dev/zero) is read in bounded memory.
///
/// A line ends at `\n` (a `\r` before it is dropped); bytes that are not UTF-8 become U+FFFD.
struct LineReader {
    /// What went wrong with a line, said so that the learner knows what to change.
    enum Problem: Error, CustomStringConvertible {
        case lineTooLong(limit: Int)
        case scriptTooLong(limit: Int)
        case unreadable(path: String, reason: String)

        var description: String {
            switch self {
            case let .lineTooLong(limit): "line is longer than \(LineReader.size(limit)): split it"
            case let .scriptTooLong(limit): "the script is longer than \(LineReader.size(limit)): split it into several files"
            case let .unreadable(path, reason): "cannot read \(path): \(reason)"
            }
        }
    }

    /// 1 MiB: far more than any command, sentence or matrix a person types.
    static let lineLimit = 1 << 20
    /// 64 MiB for a whole replayed script.
    static let scriptLimit = 64 << 20

    let descriptor: Int32
    /// The name in messages: the path, or `-` for standard input.
    let name: String
    let lineLimit: Int
    /// The most bytes read in all, or nil for no limit (the shell reading a pipe).
    let totalLimit: Int?
    /// The number of the line `next` returned last (1-based).
    private(set) var lineNumber = 0

    private var buffer = [UInt8](repeating: 0, count: 64 << 10)
    private var start = 0, end = 0
    private var total = 0
    private var atEnd = false
    /// Set after a line that was too long: the rest of it, up to its `\n`, is still to be skipped.
    private var skipping = false

    init(descriptor: Int32, name: String, lineLimit: Int = LineReader.lineLimit, totalLimit: Int? = nil) {
        self.descriptor = descriptor
        self.name = name
        self.lineLimit = lineLimit
        self.totalLimit = totalLimit
    }

    /// The next line, or nil at the end of the input.
    /// - Throws: `.lineTooLong` as soon as a line passes the budget (the next call goes on after
    ///   that line's end), `.scriptTooLong` past the total budget, `.unreadable` on a read error.
    mutating func next() throws(Problem) -> String? {
        var line: [UInt8] = []
        var started = false  // a last line without \n is a line too
        while true {
            if start == end {
                if atEnd { return started ? finish(line) : nil }
                try fill()
                continue
            }
            let newline = buffer[start..<end].firstIndex(of: UInt8(ascii: "\n"))
            if skipping {
                start = newline.map { $0 + 1 } ?? end
                skipping = newline == nil
                continue
            }
            let stop = newline ?? end
            if line.count + (stop - start) > lineLimit {
                // Drop what was read of it; the rest is skipped as it arrives, never held.
                lineNumber += 1
                start = newline.map { $0 + 1 } ?? end
                skipping = newline == nil
                throw .lineTooLong(limit: lineLimit)
            }
            line += buffer[start..<stop]
            started = true
            if let newline {
                start = newline + 1
                return finish(line)
            }
            start = end
        }
    }

    private mutating func finish(_ bytes: [UInt8]) -> String {
        lineNumber += 1
        var bytes = bytes[...]
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads the next buffer's worth, waiting if the descriptor is non-blocking.
    private mutating func fill() throws(Problem) {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                start = 0
                end = count
                total += count
                if let totalLimit, total > totalLimit { throw .scriptTooLong(limit: totalLimit) }
                return
            }
            if count == 0 {
                atEnd = true
                return
            }
            switch errno {
            case EINTR: continue
            case EAGAIN:
                var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                _ = poll(&waiting, 1, -1)
            default:
                throw .unreadable(path: name == "-" ? "standard input" : name, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// `1 MiB`, `64 MiB`, or bytes for small budgets.
    static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}

/// The shell's lines when standard input is not a terminal: a line that is too long or unreadable
/// is reported on standard error (`-:7: error: …`) and skipped; the session goes on.
struct StandardInputLines: LineSource {
    private var reader = LineReader(descriptor: STDIN_FILENO, name: "-")

    mutating func nextLine(prompt: String) -> String? {
        while true {
            do {
                return try reader.next()
            } catch .unreadable(let path, let reason) {
                Output.error("-: error: cannot read \(path): \(reason)\n")
                return nil
            } catch {
                Output.error("-:\(reader.lineNumber): error: \(error)\n")
            }
        }
    }
}
