import AttnCore
import Foundation

/// Writing steps to files for NumPy, spreadsheets and the learner's own tools.
extension Session {

    /// Writes a whole step (or the tokens) to a file, atomically.
    func export(_ what: String, to path: String) throws -> String {
        let trace = try requireTrace()
        let target = resolve(path)
        let lower = path.lowercased()
        if what == "tokens" {
            let text = zip(trace.tokenIds, trace.tokens).map { "\($0)\t\($1)\n" }.joined()
            try AtomicFile.write(Data(text.utf8), to: target)
            return "wrote \(trace.count) tokens to \(path)\n"
        }
        let step = Step(rawValue: what)
        guard step != nil || what == "rollout" else { throw NotebookError.unknownStep(what, suggestion: nil) }
        let matrix = try step.map { try stepMatrix(trace, $0) } ?? rolloutMatrix(trace)
        var info = stat()
        let kind = stat(target, &info) == 0 ? info.st_mode & S_IFMT : 0
        guard kind != S_IFDIR else { throw AttnError.fileUnwritable(path: path, reason: "it is a directory") }
        let isDevice = kind != 0 && kind != S_IFREG
        let data: Data
        if lower.hasSuffix(".npy") {
            data = NumPyFile.encode(values: matrix.values, shape: [matrix.rows, matrix.columns])
        } else if lower.hasSuffix(".csv") || isDevice {  // a device (/dev/stdout) gets text
            var text = ""
            for i in 0..<matrix.rows {
                text += matrix.row(i).map { String(format: "%.9g", Double($0)) }.joined(separator: ",") + "\n"
            }
            data = Data(text.utf8)
        } else {
            throw NotebookError.exportFormat(path: path)
        }
        try AtomicFile.write(data, to: target)
        let location = step?.scope == .head ? " (layer \(layer), head \(head))" : step?.scope == .layer ? " (layer \(layer))"
            : step == nil ? " (layers 0…\(trace.layers.count - 1))" : ""
        return "wrote \(what)\(location) \(matrix.shapeDescription) to \(path)\n"
    }
}
