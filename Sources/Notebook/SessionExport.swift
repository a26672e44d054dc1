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

    /// Writes a whole step (or the tokens, or a value of the learner's math) to a file, atomically.
    func export(_ what: String, to path: String) throws -> String {
        if what != "tokens", what != "rollout", Step(rawValue: what) == nil { return try exportValue(what, to: path) }
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
        try write(matrixData(matrix, for: target), to: target)
        let location = step?.scope == .head ? " (layer \(layer), head \(head))" : step?.scope == .layer ? " (layer \(layer))"
            : step == nil ? " (layers 0…\(trace.layers.count - 1))" : ""
        return "wrote \(what)\(location) \(matrix.shapeDescription) to \(target.described)\n"
    }

    /// A matrix as `.npy`, or as `.csv` text (which a device or pipe such as /dev/stdout also gets).
    func matrixData(_ matrix: Matrix, for target: WriteTarget) -> Data {
        if target.typed.lowercased().hasSuffix(".npy") {
            return NumPyFile.encode(values: matrix.values, shape: [matrix.rows, matrix.columns])
        }
        var text = ""
        for i in 0..<matrix.rows {
            text += matrix.row(i).map { String(format: "%.9g", Double($0)) }.joined(separator: ",") + "\n"
        }
        return Data(text.utf8)
    }

    /// `export NAME PATH`, `export weights[2, :] PATH`: a value of the learner's math, evaluated as
    /// `show` and `NAME = EXPR` evaluate it (the same names, the same slices).
    func exportValue(_ what: String, to path: String) throws -> String {
        let name = String(what.prefix { $0 != "[" })
        guard learnerNames[name] != nil || modelNames.contains(name) else {
            let suggestion = closest(to: name, in: ["tokens", "rollout"] + availableSteps.map(\.rawValue) + learnerNames.keys.sorted())
            throw NotebookError.unknownStep(what, suggestion: suggestion)
        }
        guard case let .evaluate(expression) = try MathParser.parse(what) else {
            throw NotebookError.usage(command: "export", usage: "export NAME PATH or export NAME[rows, columns] PATH")
        }
        let target = try writeTarget(path, command: "export \(what)", suffixes: Self.matrixSuffixes) {
            NotebookError.exportFormat(path: $0)
        }
        let matrix: Matrix
        switch try evaluate(expression, line: what) {
        case let .scalar(x): matrix = Matrix(rows: 1, columns: 1, values: [x])
        case let .matrix(m): matrix = m
        }
        try write(matrixData(matrix, for: target), to: target)
        let location = learnerNames[name] != nil ? "" : " (layer \(layer), head \(head))"
        return "wrote \(what)\(location) \(matrix.shapeDescription) to \(target.described)\n"
    }

    // MARK: Every layer at once

    /// The matrices of `step` in every layer: per layer every head's (a head step), or the layer's
    /// one (a layer step). Hugging Face's `output_attentions=True` gives the weights this way.
    func everyLayer(_ trace: Trace, _ step: Step) throws -> [[Matrix]] {
        let model = try requireModel()
        guard step.scope != .sentence else { throw NotebookError.notPerLayer(step.rawValue) }
        let heads = step.scope == .head ? model.sizes.heads : 1
        return try (0..<trace.layers.count).map { l in
            try (0..<heads).map { h in
                guard let m = trace.matrix(step, layer: l, head: h) else {
                    throw NotebookError.stepNotInModel(step.rawValue, model: modelName)
                }
                return m
            }
        }
    }

    /// The shape of `everyLayer` as one array: `[layers, heads, T, n]` or `[layers, T, n]`.
    static func stackedShape(_ matrices: [[Matrix]], _ step: Step) -> [Int] {
        let first = matrices.first?.first
        let inner = [first?.rows ?? 0, first?.columns ?? 0]
        return step.scope == .head ? [matrices.count, matrices.first?.count ?? 0] + inner : [matrices.count] + inner
    }

    /// `[6 × 12 × 8 × 8]`
    static func shapeText(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: " × ") + "]"
    }

    /// `export STEP all PATH.npy`: the step of every layer (and head) as one array in C order,
    /// stacked as PyTorch stacks them:
    /// ```
    /// head steps    [layers, heads, T, T]    scores, scaled, masked, weights
    ///               [layers, heads, T, dₕ]   q, k, v, z (and the decoder's q_prerope, k_prerope)
    /// layer steps   [layers, T, d]           x, attn_out, out, …
    /// ```
    /// `np.load` of `export weights all` equals `torch.stack(outputs.attentions)[:, 0]`.
    func exportAll(_ step: Step, to path: String) throws -> String {
        let trace = try requireTrace()
        let matrices = try everyLayer(trace, step)
        let shape = Self.stackedShape(matrices, step)
        let command = "export \(step.rawValue) all"
        // .csv holds two dimensions; refused before the name is checked for replacing.
        let typed = path.hasSuffix("!") ? String(path.dropLast()) : path
        if typed.lowercased().hasSuffix(".csv") {
            throw NotebookError.needsNumPy(command: command, path: typed, shape: Self.shapeText(shape))
        }
        let target = try writeTarget(path, command: command, suffixes: Self.matrixSuffixes) {
            NotebookError.exportFormat(path: $0)
        }
        guard target.typed.lowercased().hasSuffix(".npy") else {  // a device or pipe would get text
            throw NotebookError.needsNumPy(command: command, path: typed, shape: Self.shapeText(shape))
        }
        var values: [Float] = []
        values.reserveCapacity(shape.reduce(1, *))
        for layer in matrices { for m in layer { values += m.values } }
        try write(NumPyFile.encode(values: values, shape: shape), to: target)
        let heads = step.scope == .head ? ", heads 0…\(shape[1] - 1)" : ""
        let shared = (model?.sizes.groupSize ?? 1) > 1 && [.k, .v, .keysBeforeRotation].contains(step)
            ? "; each query head's key/value head" : ""
        return "wrote \(step.rawValue) (layers 0…\(shape[0] - 1)\(heads)\(shared)) \(Self.shapeText(shape)) to \(target.described)\n"
    }
}
