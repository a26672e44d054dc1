import AttnCore
import Foundation

/// Writing what the notebook shows to files: arrays, heatmaps and the transcript.
enum ExportCommands: CommandGroup {
    static let title = "export"
    static let commands: [any NotebookCommand.Type] = [ExportCommand.self, PlotCommand.self, SaveCommand.self]
    static func notes(_ session: Session) -> [String] { ["a file this session did not write: PATH! replaces it"] }
}

/// `export WHAT PATH` and `export STEP all PATH`. WHAT is a step, `tokens`, `rollout`, a name of
/// the math (`R`, `W_Q`) or a slice of one (`weights[2, :]`, whose brackets may hold spaces); the
/// path is the rest of the line.
struct ExportCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["export"],
        synopsis: ["export STEP PATH.npy | PATH.csv", "export tokens PATH.tsv | PATH.txt", "export STEP all PATH.npy",
                   "export NAME PATH", "export R[2, :] PATH", "export rollout PATH", "export lime PATH.csv",
                   "export attribute PATH.csv", "export lens PATH.csv", "export induction PATH.csv", "export patch PATH.csv"],
        help: [("export", "export STEP PATH: writes the whole step as .npy (float32, C order) or .csv (%.9g); export tokens PATH writes id<TAB>token lines to .tsv or .txt; a device such as /dev/stdout gets text. A file that is there and that this session did not write is replaced only when the name ends with ! (export weights w.npy!); a lesson never replaces one. export STEP all PATH.npy writes every layer and head as one array: [layers, heads, T, T] for scores, scaled, masked and weights (what torch.stack(outputs.attentions)[:, 0] gives), [layers, heads, T, dₕ] for q, k, v and z, [layers, T, d] for x, attn_out, out and the other steps of a layer; .csv holds only two dimensions. export NAME PATH writes one of your names or the model's (export R r.csv, export W_Q wq.npy), export weights[2, :] PATH a slice, evaluated as the math evaluates it. export lime PATH.csv writes the last lime's words and coefficients (word,coefficient, in the sentence's order). export attribute PATH.csv writes every part of attribute (component,layer,head,contribution); export lens PATH.csv the logit lens of every layer and position (layer,position,token,top_token,top_p,target_p). export induction PATH.csv writes the last induction's scores (layer,head,induction,previous_token,duplicate_token); export patch PATH.csv the last patch's grids (kind,layer,column,label,value).")])

    var what: String
    var path: String
    /// `export STEP all PATH.npy`: the step of every layer (and head) as one array.
    var all = false

    init(what: String, path: String, all: Bool = false) {
        (self.what, self.path, self.all) = (what, path, all)
    }

    init(word: String, arguments: String) throws {
        let usage = "export STEP PATH, e.g. export weights w.npy; export STEP all PATH.npy; export NAME PATH"
        var end = arguments.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? arguments.endIndex
        if let open = arguments.firstIndex(of: "["), open < end {
            end = Self.closingBracket(in: arguments, from: open)
        }
        let what = String(arguments[..<end]), path = String(arguments[end...]).trimmingWhitespace()
        guard !what.isEmpty, !path.isEmpty else { throw NotebookError.usage(command: "export", usage: usage) }
        if case let ("all", allPath) = path.splitFirstWord(), Step(rawValue: what) != nil {
            guard !allPath.isEmpty else { throw NotebookError.usage(command: "export", usage: "export \(what) all PATH.npy") }
            self.init(what: what, path: allPath, all: true)
            return
        }
        let name = String(what.prefix { $0 != "[" })
        guard Self.reports.contains(what) || what == "tokens" || what == "rollout" || what == "lime" || Step(rawValue: what) != nil || MathSyntax.isName(name) else {
            throw NotebookError.unknownStep(what, suggestion: closest(to: what, in: ["tokens", "rollout"] + StepInfo.names))
        }
        self.init(what: what, path: path)
    }

    /// Just past the `]` that closes the `[` at `open` (or the end).
    static func closingBracket(in text: String, from open: String.Index) -> String.Index {
        var depth = 0
        var i = open
        while i < text.endIndex {
            if text[i] == "[" { depth += 1 }
            if text[i] == "]" { depth -= 1 }
            i = text.index(after: i)
            if depth == 0 { break }
        }
        return i
    }

    /// What a decoder's `attribute`, `lens`, `induction` and `patch` compute, exported by their names.
    static let reports = ["attribute", "lens", "induction", "patch"]
    /// ``reports`` where the model has them (a decoder), for completion.
    static func reports(_ session: Session) -> [String] { session.model is any DecoderModel ? reports : [] }

    var writtenPath: String? { path }

    func run(in session: Session) throws -> String {
        if all, let step = Step(rawValue: what) { return try session.exportAll(step, to: path) }
        if what == "lime" { return try session.exportLime(to: path) }
        if what == "attribute" { return try session.exportAttribution(to: path) }
        if what == "lens" { return try session.exportLens(to: path) }
        if what == "induction" { return try session.exportInduction(to: path) }
        if what == "patch" { return try session.exportPatch(to: path) }
        return try session.export(what, to: path)
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        let session = request.session
        switch request.previous.count {
        case 0:
            return request.matching(["tokens", "rollout", "lime"] + Self.reports(session) + session.availableSteps.map(\.rawValue) + session.learnerNames.keys.sorted())
        case 1 where !request.word.isEmpty && "all".hasPrefix(request.word)
            && Step(rawValue: request.previous[0]).map({ $0.scope != .sentence }) == true:
            return request.matching(["all"])
        default:
            return .files
        }
    }
}

/// `plot STEP PATH.svg`: an SVG heatmap of a token × token step or of rollout.
struct PlotCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["plot"], synopsis: ["plot STEP PATH.svg", "plot lime PATH.svg", "plot attribute PATH.svg", "plot lens PATH.svg", "plot induction PATH.svg", "plot patch PATH.svg"], help: [("plot", "plot STEP PATH.svg: an SVG heatmap of a token × token step (scores, scaled, masked, weights) or of rollout, with the tokens on both axes, a colour legend, the formula, layer and head in the title and every cell's value on hover; opens in any browser. Beyond 256 tokens the grid is one image (a pixel per cell, or per block of cells beyond 1024, their mean) with every n-th token labelled. plot lime PATH.svg draws the last lime's coefficients as a bar chart, one bar per word. plot attribute PATH.svg draws attribute's parts as a layers × (heads, MLP) heatmap; plot lens PATH.svg the logit lens as a layers × positions heatmap of p(target token), each cell labelled with its top token; plot induction PATH.svg the last induction's scores as a layers × heads heatmap; plot patch PATH.svg the last patch's grid (the heads' when it computed both). An existing file this session did not write needs ! after the name (plot weights w.svg!).")])

    var what: String
    var path: String

    init(word: String, arguments: String) throws {
        let usage = "plot STEP PATH.svg, e.g. plot weights w.svg (STEP: scores, scaled, masked, weights, rollout)"
        let split = arguments.split(separator: " ", maxSplits: 1).map(String.init)
        guard split.count == 2 else { throw NotebookError.usage(command: "plot", usage: usage) }
        what = split[0]
        guard what == "rollout" || what == "lime" || ExportCommand.reports.contains(what) || Step(rawValue: what) != nil else {
            let plottable = ["rollout", "lime"] + ExportCommand.reports + Step.allCases.filter(\.isTokenByToken).map(\.rawValue)
            throw NotebookError.unknownStep(what, suggestion: closest(to: what, in: plottable))
        }
        path = split[1].trimmingWhitespace()
    }

    var writtenPath: String? { path }

    func run(in session: Session) throws -> String {
        switch what {
        case "lime": try session.plotLime(to: path)
        case "attribute": try session.plotAttribution(to: path)
        case "lens": try session.plotLens(to: path)
        case "induction": try session.plotInduction(to: path)
        case "patch": try session.plotPatch(to: path)
        default: try session.plot(what, to: path)
        }
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.isEmpty ? request.matching(Step.allCases.filter(\.isTokenByToken).map(\.rawValue) + ["rollout", "lime"] + ExportCommand.reports(request.session)) : .files
    }
}

/// `save transcript PATH.md` and `save notebook PATH.html`: the session so far as Markdown, or as
/// a page with its matrices shaded, its heatmaps and its lesson prose.
struct SaveCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["save"], synopsis: ["save transcript PATH.md", "save notebook PATH.html"],
        help: [("save", "save transcript PATH.md: the session so far as Markdown: every command after its prompt, with its output, in fenced blocks; # comments become paragraphs. save notebook PATH.html: the session so far as one self-contained HTML page to share, read offline in any browser: every command with its output, token × token matrices shaded as a colour terminal shades them and drawn as heatmaps (as plot draws them, each value on hover), every plot's heatmap, and a lesson's prose and # comments set from their Markdown. An existing file this session did not write needs ! after the name (save transcript t.md!)."),
               ("save transcript", "save transcript PATH.md: the session so far as Markdown, every command with its output."),
               ("save notebook", "save notebook PATH.html: the session so far as one HTML page: every command with its output, shaded matrices, heatmaps of the token × token steps shown and of every plot, a lesson's prose and # comments from their Markdown. No scripts, nothing fetched: it reads offline. A heatmap of more than \(SVGHeatmap.rasterThreshold) tokens is one image (a pixel per cell, or per block of cells beyond \(SVGHeatmap.maximumPixels)), and a page over \(HTMLNotebook.byteLimit / 1_000_000) MB is refused.")])

    enum What: String { case transcript, notebook }

    var what: What
    var path: String

    init(word: String, arguments: String) throws {
        let (what, path) = arguments.splitFirstWord()
        guard let kind = What(rawValue: what), !path.isEmpty else {
            throw NotebookError.usage(command: "save", usage: "save transcript PATH.md or save notebook PATH.html")
        }
        (self.what, self.path) = (kind, path)
    }

    var writtenPath: String? { path }

    func run(in session: Session) throws -> String {
        switch what {
        case .transcript: try session.saveTranscript(to: path)
        case .notebook: try session.saveNotebook(to: path)
        }
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.isEmpty ? request.matching(["transcript", "notebook"]) : .files
    }
}

// MARK: - What the commands do

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
    ///   - replacing: consent given otherwise (`attn replay --html PATH`: the command line names it).
    ///   - wrongSuffix: the error for a name without one of `suffixes`.
    func writeTarget(_ path: String, command: String, suffixes: [String], replacing: Bool = false,
                     wrongSuffix: (String) -> NotebookError) throws -> WriteTarget {
        var typed = path
        var consent = replacing
        if typed.hasSuffix("!") {
            consent = true
            typed.removeLast()
        }
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

    /// `writeTarget` for a command that writes one `.csv` file (`export lime PATH.csv`).
    func csvTarget(_ path: String, command: String) throws -> WriteTarget {
        try writeTarget(path, command: command, suffixes: [".csv"]) {
            NotebookError.fileType(path: $0, command: command, expected: "csv")
        }
    }

    /// `writeTarget` for a command that draws one `.svg` file (`plot lens PATH.svg`). The error for
    /// another suffix names `plot`, whatever the plot: every plot writes the same kind of file.
    func svgTarget(_ path: String, command: String) throws -> WriteTarget {
        try writeTarget(path, command: command, suffixes: [".svg"]) {
            NotebookError.fileType(path: $0, command: "plot", expected: "svg")
        }
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
        guard step != nil || what == "rollout" else { throw NotebookError.unknownStep(what, suggestion: nil, steps: availableSteps.map(\.rawValue)) }
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
            throw NotebookError.unknownStep(what, suggestion: suggestion, steps: availableSteps.map(\.rawValue))
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

/// SVG heatmaps of the session's trace, and the transcript. (The explore commands' text is in
/// ExploreCommands.swift, their arithmetic in Analysis/.)
extension Session {
    // MARK: plot

    /// `plot STEP PATH.svg`: a token × token step (or the rollout) as an SVG heatmap.
    func plot(_ what: String, to path: String) throws -> String {
        let trace = try requireTrace()
        let model = try requireModel()
        let target = try svgTarget(path, command: "plot \(what)")
        let matrix: Matrix, title: String, location: String
        if what == "rollout" {
            matrix = rolloutMatrix(trace)
            title = Self.rolloutFormula(layers: model.sizes.layers)
            location = "layers 0…\(model.sizes.layers - 1)"
        } else {
            guard let step = Step(rawValue: what) else { throw NotebookError.unknownStep(what, suggestion: nil) }
            let m = try stepMatrix(trace, step)
            guard step.isTokenByToken else { throw NotebookError.notTokenByToken(what, shape: m.shapeDescription) }
            matrix = m
            title = formula(step, m)
            location = "layer \(layer), head \(head)"
        }
        let chart = heatmap(matrix, rowLabels: trace.tokens, columnLabels: trace.tokens, title: title, location: location)
        return try writePlot(chart, to: target,
                             report: "wrote \(what) (\(location)) \(matrix.shapeDescription) as an SVG heatmap to \(target.described)\n")
    }

    /// Writes a plot's heatmap to its file and records that very chart, after the line reporting
    /// it, for `save notebook`: the page draws what the file holds, cell labels and axes included.
    /// - Returns: `report`.
    func writePlot(_ chart: SVGHeatmap, to target: WriteTarget, report: String) throws -> String {
        try write(Data(chart.render().utf8), to: target)
        transcript.add(.plot(text: report, heatmap: NotebookPart.Heatmap(chart)))
        return report
    }

    var describeModelShort: String { (modelSource ?? .minilm).title }

    /// `save transcript PATH.md`: every command so far with its output, as Markdown.
    func saveTranscript(to path: String) throws -> String {
        let target = try writeTarget(path, command: "save transcript", suffixes: [".md", ".markdown"]) {
            NotebookError.fileType(path: $0, command: "save transcript", expected: "md")
        }
        let markdown = transcript.markdown(model: model.map { _ in describeModelShort })
        try write(Data(markdown.utf8), to: target)
        return "wrote \(transcript.commandCount) command\(transcript.commandCount == 1 ? "" : "s") with their output to \(target.described)\n"
    }

    /// `save notebook PATH.html`: every command so far with its output, shaded matrices, heatmaps
    /// and lesson prose, as one HTML page (see ``HTMLNotebook``).
    func saveNotebook(to path: String) throws -> String {
        let target = try writeTarget(path, command: "save notebook", suffixes: [".html", ".htm"]) {
            NotebookError.fileType(path: $0, command: "save notebook", expected: "html")
        }
        return try writeNotebook(to: target)
    }

    /// `attn replay --html PATH.html`: the page of everything replayed. The command line names the
    /// file, so a file that is there is replaced, as a shell's `>` replaces it; as everywhere, the
    /// page is written atomically, and a link at the name is replaced, not written through.
    public func saveReplayNotebook(to path: String) throws -> String {
        let target = try writeTarget(path, command: "replay --html", suffixes: [".html", ".htm"], replacing: true) {
            NotebookError.fileType(path: $0, command: "replay --html", expected: "html")
        }
        return try writeNotebook(to: target)
    }

    func writeNotebook(to target: WriteTarget) throws -> String {
        let page = HTMLNotebook(entries: transcript.entries, commandCount: transcript.commandCount,
                                model: model.map { _ in describeModelShort })
        let (html, figures) = try page.render()
        try write(Data(html.utf8), to: target)
        return "wrote \(transcript.commandCount) command\(transcript.commandCount == 1 ? "" : "s") with their output"
            + (figures > 0 ? " and \(figures) heatmap\(figures == 1 ? "" : "s")" : "") + " as a page to \(target.described)\n"
    }
}
