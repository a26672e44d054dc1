import AttnCore
import Foundation

/// A file a command is about to write, checked before anything is computed.
struct WriteTarget {
    /// The name as the learner typed it, without the `!` of consent, for messages.
    let typed: String
    /// Where it is written.
    let resolved: String
    /// A device or a pipe (`/dev/stdout`): written in place, whatever its name.
    let isStream: Bool
    /// Whether a file that this session did not write is there and is replaced.
    let replaces: Bool

    /// The name for a success line: control characters escaped, and what was replaced.
    var described: String {
        escapingControlCharacters(typed) + (replaces ? ", replacing the existing file" : "")
    }
}

/// Writing steps to files for NumPy, spreadsheets and the learner's own tools.
///
/// Every write names its file with a suffix the command writes (`.npy`, `.csv`, `.tsv`, `.txt`,
/// `.svg`, `.md`), or is a device or pipe such as /dev/stdout. A file that exists is replaced only
/// when this session wrote it, or when the learner ends the name with `!` (`export weights w.npy!`),
/// and never by a lesson's block.
extension Session {
    /// The suffixes each kind of write accepts.
    static let tokenSuffixes = [".tsv", ".txt"]
    static let matrixSuffixes = [".npy", ".csv"]

    /// Checks a file name before anything is computed or written.
    /// - Parameters:
    ///   - path: as typed; a final `!` consents to replacing a file this session did not write.
    ///   - wrongSuffix: the error for a name without one of `suffixes`.
    func writeTarget(_ path: String, command: String, suffixes: [String],
                     wrongSuffix: (String) -> NotebookError) throws -> WriteTarget {
        var typed = path
        let consent = typed.hasSuffix("!")
        if consent { typed.removeLast() }
        let resolved = resolve(typed)
        var info = stat()
        let kind = stat(resolved, &info) == 0 ? info.st_mode & S_IFMT : 0
        guard kind != S_IFDIR else { throw AttnError.fileUnwritable(path: typed, reason: "it is a directory") }
        let isStream = kind == S_IFCHR || kind == S_IFIFO
        if !isStream {
            let lower = typed.lowercased()
            guard suffixes.contains(where: { lower.hasSuffix($0) && lower.count > $0.count }) else { throw wrongSuffix(typed) }
        }
        // lstat: a symbolic link is there too, even when it points nowhere.
        var linkInfo = stat()
        let exists = !isStream && lstat(resolved, &linkInfo) == 0
        let replaces = exists && !writtenFiles.contains(Self.fileKey(resolved))
        if replaces {
            if lessonBlockDepth > 0 {
                throw NotebookError.lesson("a lesson cannot replace \(shown(typed)), which exists: the lesson should write another name")
            }
            guard consent else { throw NotebookError.fileExists(path: typed, command: command) }
        }
        return WriteTarget(typed: typed, resolved: resolved, isStream: isStream, replaces: replaces)
    }

    /// Writes `data` atomically, and remembers the file as this session's.
    func write(_ data: Data, to target: WriteTarget) throws {
        try AtomicFile.write(data, to: target.resolved)
        if !target.isStream { writtenFiles.insert(Self.fileKey(target.resolved)) }
    }

    /// One key per file, however its path is spelled (`sub/../w.npy`, `./w.npy`).
    static func fileKey(_ resolved: String) -> String {
        (resolved as NSString).standardizingPath
    }

    /// Writes a whole step (or the tokens) to a file, atomically.
    func export(_ what: String, to path: String) throws -> String {
        let trace = try requireTrace()
        if what == "tokens" {
            let target = try writeTarget(path, command: "export tokens", suffixes: Self.tokenSuffixes) {
                NotebookError.fileSuffixes(path: $0, command: "export tokens", accepted: Self.tokenSuffixes)
            }
            let text = zip(trace.tokenIds, trace.tokens).map { "\($0)\t\($1)\n" }.joined()
            try write(Data(text.utf8), to: target)
            return "wrote \(trace.count) tokens to \(target.described)\n"
        }
        let step = Step(rawValue: what)
        guard step != nil || what == "rollout" else { throw NotebookError.unknownStep(what, suggestion: nil) }
        let target = try writeTarget(path, command: "export \(what)", suffixes: Self.matrixSuffixes) {
            NotebookError.exportFormat(path: $0)
        }
        let matrix = try step.map { try stepMatrix(trace, $0) } ?? rolloutMatrix(trace)
        let data: Data
        if target.typed.lowercased().hasSuffix(".npy") {
            data = NumPyFile.encode(values: matrix.values, shape: [matrix.rows, matrix.columns])
        } else {  // .csv, and a device or pipe (/dev/stdout) gets text
            var text = ""
            for i in 0..<matrix.rows {
                text += matrix.row(i).map { String(format: "%.9g", Double($0)) }.joined(separator: ",") + "\n"
            }
            data = Data(text.utf8)
        }
        try write(data, to: target)
        let location = step?.scope == .head ? " (layer \(layer), head \(head))" : step?.scope == .layer ? " (layer \(layer))"
            : step == nil ? " (layers 0…\(trace.layers.count - 1))" : ""
        return "wrote \(what)\(location) \(matrix.shapeDescription) to \(target.described)\n"
    }
}
