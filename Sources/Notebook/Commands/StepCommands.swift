import AttnCore
import Foundation

/// Looking at the steps of the forward pass: the tokens, one step (or a slice of it), every layer's
/// step at once, and a walk through the selected layer and head.
enum StepCommands: CommandGroup {
    static let title = "steps"
    static let commands: [any NotebookCommand.Type] = [TokensCommand.self, WalkCommand.self, ShowCommand.self]
}

/// `tokens`: the pieces of the sentence with their ids.
struct TokensCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["tokens"], synopsis: ["tokens"],
        help: [("tokens", "tokens: the pieces of the sentence with their ids; on minilm [CLS] starts it and [SEP] ends it, on smollm2 byte-level pieces with · for a space.")])

    init(word: String, arguments: String) {}

    func run(in session: Session) throws -> String { try session.showTokens() }
}

/// `walk`: every step of the selected layer and head, one per Enter.
struct WalkCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["walk"], synopsis: ["walk (every step of this layer and head, one per Enter)"],
        help: [("walk", "walk: every step of the selected layer and head, from x to out, one per Enter (all at once in a script).")])

    init(word: String, arguments: String) {}

    func run(in session: Session) throws -> String {
        _ = try session.requireTrace()
        session.pendingWalk = session.walkSteps
        guard session.interactive else {
            var text = ""
            while !session.pendingWalk.isEmpty { text += try session.walkNext() }
            return text
        }
        return try session.walkNext()
    }
}

/// `STEP`, `STEP[rows, columns]`, `show STEP[rows, columns]` and `STEP all`: one step of the
/// selected layer and head, a slice of it, or the step of every layer and head.
struct ShowCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["show"],
        synopsis: ["show STEP[rows, columns]   e.g. show q[0:4, 0:8], show weights[2, :]",
                   "STEP all (every layer and head), e.g. weights all"],
        help: [("show", "show STEP[rows, columns]: a slice of a step, NumPy style: show q[0:4, 0:8], show weights[2, :], show out[-1]."), ("all", "STEP all (weights all, scores all, q all, x all, …): the step of every layer and head at once, layers as rows and heads as columns, in bands that fit the width. A token × token step shows each head as one character per query row, naming the key where that row is largest (for weights: the key the query attends to most), 0–9, a–z, A–Z as the legend says; another step shows the mean length of its rows. export STEP all PATH.npy writes every number.")])

    var step: Step
    var rows: Slice?
    var columns: Slice?
    /// `STEP all`: every layer and head.
    var all = false
    /// `STEP top K` and `STEP band W`: views of a long token × token step.
    var view: View?

    enum View: Equatable {
        case top(Int)
        case band(Int)
    }

    init(step: Step, rows: Slice? = nil, columns: Slice? = nil, all: Bool = false, view: View? = nil) {
        (self.step, self.rows, self.columns, self.all, self.view) = (step, rows, columns, all, view)
    }

    /// `top K` or `band W` after a step's name, or nil when the words are neither.
    static func view(_ words: String, step: Step) throws -> View? {
        let (word, number) = words.splitFirstWord()
        guard word == "top" || word == "band" else { return nil }
        let usage = word == "top" ? "\(step.rawValue) top K, the K largest keys of each query" : "\(step.rawValue) band W, the keys within W of each query"
        let n = try Arguments.number(number, command: word, usage: usage)
        return word == "top" ? .top(n) : .band(n)
    }

    init(word: String, arguments: String) throws {
        guard !arguments.isEmpty else {
            throw NotebookError.usage(command: "show", usage: "show STEP or show STEP[rows, columns], e.g. show q[0:4, 0:8]")
        }
        let (name, rest) = arguments.splitFirstWord()
        if rest == "all", let step = Step(rawValue: name) {
            self.init(step: step, all: true)
        } else if let step = Step(rawValue: name), let view = try Self.view(rest, step: step) {
            self.init(step: step, view: view)
        } else {
            try self.init(slice: arguments)
        }
    }

    /// A line that starts with a step's name: `weights`, `weights all`, `weights[2, :]`. One cell,
    /// `weights[5, 1]`, is a number for the math, as is anything else (`weights - 1`).
    init?(stepLine line: String) {
        let (word, rest) = line.splitFirstWord()
        if let step = Step(rawValue: word), rest.isEmpty || rest == "all" {
            self.init(step: step, all: rest == "all")
            return
        }
        if let step = Step(rawValue: word), let view = try? Self.view(rest, step: step) {
            self.init(step: step, view: view)
            return
        }
        guard word.contains("["), let command = try? ShowCommand(slice: line) else { return nil }
        if let rows = command.rows, let columns = command.columns, rows.single, columns.single { return nil }
        self = command
    }

    /// `STEP`, `STEP[r]`, `STEP[r, c]` where each of r, c is `i`, `a:b`, `a:`, `:b` or `:`.
    init(slice text: String) throws {
        let name: String, inside: String?
        if let open = text.firstIndex(of: "[") {
            guard text.hasSuffix("]") else { throw NotebookError.math("show \(text): the slice needs a closing ]") }
            name = String(text[..<open]).trimmingWhitespace()
            inside = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
        } else {
            name = text
            inside = nil
        }
        guard let step = Step(rawValue: name) else {
            // `show tokens`, `show rollout`: a command of its own, which shows more than a matrix.
            if inside == nil, Commands.byWord[name] != nil {
                throw NotebookError.math("show \(name): \(name) is a command of its own, not a step: type \(name)")
            }
            throw NotebookError.unknownStep(name, suggestion: closest(to: name, in: StepInfo.names))
        }
        guard let inside else {
            self.init(step: step)
            return
        }
        let parts = inside.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
        guard parts.count <= 2 else { throw NotebookError.math("show \(text): a matrix has two axes, give at most [rows, columns]") }
        self.init(step: step, rows: try Slice(parts[0], text: text),
                  columns: parts.count == 2 ? try Slice(parts[1], text: text) : nil)
    }

    func run(in session: Session) throws -> String {
        switch view {
        case let .top(k)?: try session.showTop(step, keys: k)
        case let .band(w)?: try session.showBand(step, width: w)
        case nil: all ? try session.showAll(step) : try session.show(step, rows: rows, columns: columns)
        }
    }

    /// The steps the model has, then how to show them.
    static func synopsis(_ session: Session) -> [String] {
        [session.availableSteps.map(\.rawValue).joined(separator: " ")] + definition.synopsis
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        switch request.previous.count {
        case 0: request.matching(request.session.availableSteps.map(\.rawValue))
        case 1 where Step(rawValue: request.previous[0]) != nil: request.matching(["all", "band", "top"])
        default: nil
        }
    }
}

// MARK: - What the commands do

/// Showing the steps of the forward pass: headers with the formula and shape, where the numbers
/// came from (layer, head, checkpoint tensors), the matrix, and what to notice.
extension Session {

    func showTokens() throws -> String {
        let trace = try requireTrace()
        var lines = [trace.isCausal
            ? "tokens   \(trace.count) token\(trace.count == 1 ? "" : "s") (· is a space, ↵ a line end)"
            : "tokens   \(trace.count) tokens: [CLS], \(trace.count - 2) word piece\(trace.count == 3 ? "" : "s"), [SEP]"]
        let idWidth = max(2, trace.tokenIds.map { String($0).count }.max() ?? 2)
        let indexWidth = max(1, String(trace.count - 1).count)
        let builds = byteRuns(trace)
        let tokenWidth = trace.tokens.map(MatrixRenderer.displayWidth).max() ?? 5
        var header = MatrixRenderer.pad("i", indexWidth) + "  " + MatrixRenderer.pad("id", idWidth) + "  token"
        if !builds.isEmpty { header = MatrixRenderer.pad(header, indexWidth + idWidth + 4 + tokenWidth, alignLeft: true) + "  builds" }
        lines.append(header)
        for (i, (id, token)) in zip(trace.tokenIds, trace.tokens).enumerated() {
            var line = MatrixRenderer.pad(String(i), indexWidth) + "  " + MatrixRenderer.pad(String(id), idWidth) + "  " + token
            if let run = builds[i] {
                line = MatrixRenderer.pad(line, indexWidth + idWidth + 4 + tokenWidth, alignLeft: true)
                    + "  " + run.text + (run.first < i ? "  (tokens \(run.first)…\(i))" : "")
            }
            lines.append(line)
        }
        var text = lines.joined(separator: "\n") + "\n"
        if !builds.isEmpty {
            text += wrap("<0xNN> is one byte of a character's UTF-8: the vocabulary has no token for the character, "
                + "so the model reads it in bytes. builds shows the character a run of byte tokens ends.") + "\n"
        }
        return text + "\n"
    }

    /// The characters that runs of byte tokens build, at the token that completes each run, with
    /// the run's first token: `<0xE6><0x88>` `<0x91>` build 我 at the second (a byte-level
    /// vocabulary's; a word-piece one has no byte tokens).
    func byteRuns(_ trace: Trace) -> [Int: (text: String, first: Int)] {
        guard let model else { return [:] }
        var runs: [Int: (text: String, first: Int)] = [:]
        var first: Int?
        for (i, token) in trace.tokens.enumerated() {
            // Only a token shown with bytes can start a character or finish one.
            guard token.contains("<0x") else { first = nil; continue }
            let start = first ?? i
            // The run is whole when its bytes decode without a replacement character.
            let text = model.text(of: Array(trace.tokenIds[start...i]))
            if text.contains("\u{FFFD}") {
                first = start
            } else {
                runs[i] = (BPETokenizer.visible(text), start)
                first = nil
            }
        }
        return runs
    }

    /// A step's header, where it was computed, its checkpoint tensors, and the matrix labelled
    /// with the tokens.
    func show(_ step: Step, rows: Slice? = nil, columns: Slice? = nil) throws -> String {
        let trace = try requireTrace()
        let full = try stepMatrix(trace, step)
        let rowRange = try rows?.range(in: full.rows, axis: "rows") ?? 0..<full.rows
        let columnRange = try columns?.range(in: full.columns, axis: "columns") ?? 0..<full.columns
        var text = fit(header(step, full)) + "\n"
        for line in provenance(step) { text += fit(line) + "\n" }
        if rowRange.isEmpty || columnRange.isEmpty {
            let (slice, count, axis) = rowRange.isEmpty ? (rows, full.rows, "rows") : (columns, full.columns, "columns")
            return text + fit("showing no \(axis): the slice \(slice?.text ?? ":") of \(count) \(axis) is empty, as in NumPy") + "\n\n"
        }
        let matrix = full.rows(rowRange).columns(columnRange)
        if rows != nil || columns != nil {
            text += fit("showing rows \(rowRange.lowerBound)…\(rowRange.upperBound - 1), columns \(columnRange.lowerBound)…\(columnRange.upperBound - 1)") + "\n"
        }
        let rowLabels = Array(trace.tokens[rowRange])
        if step.isTokenByToken, rows == nil, columns == nil, let focused = focusedTokenMatrix(step, full, trace: trace) {
            text += focused
        } else if step.isTokenByToken {
            let sliced = rows != nil || columns != nil
                ? ", rows \(rowRange.lowerBound)…\(rowRange.upperBound - 1), columns \(columnRange.lowerBound)…\(columnRange.upperBound - 1)" : ""
            text += renderTokenMatrix(matrix, rowLabels: rowLabels, columnLabels: Array(trace.tokens[columnRange]),
                                      rowOffset: rowRange.lowerBound, columnOffset: columnRange.lowerBound,
                                      title: formula(step, full), location: "layer \(layer), head \(head)\(sliced)")
        } else {
            text += renderer.render(matrix, rowLabels: rowLabels, rowOffset: rowRange.lowerBound, columnOffset: columnRange.lowerBound)
        }
        if rows == nil, columns == nil, let notice = Notice.line(for: step, trace: trace, layer: layer, head: head,
                                                                 headDimension: model?.sizes.headDimension ?? 1,
                                                                 decoder: trace.isCausal,
                                                                 window: model?.attentionWindow(layer: layer),
                                                                 gate: gateActivation) {
            text += wrap(notice) + "\n"
        }
        if step.isTokenByToken, rows == nil, columns == nil, focus.isEmpty, !renderer.showsEveryRow(trace.count) {
            text += wrap("too long to show whole: focus TOKEN shows the rows and columns around a token, \(step.rawValue) top 3 "
                + "each query's largest keys, \(step.rawValue) band 4 the keys near the diagonal, plot \(step.rawValue) PATH.svg all of it") + "\n"
        }
        return text + "\n"  // a blank line between one matrix and the next command's output
    }

    /// The next step of a walk, with a line saying what comes after it.
    func walkNext() throws -> String {
        guard !pendingWalk.isEmpty else { return "" }
        let step = pendingWalk.removeFirst()
        let index = walkSteps.count - pendingWalk.count
        var text = "── step \(index) of \(walkSteps.count): \(step.rawValue) ──\n" + (try show(step))
        if interactive {
            text += pendingWalk.first.map { "(Enter: next step, \($0.rawValue); any command ends the walk)\n" } ?? "(end of the walk)\n"
        }
        return text
    }

    /// The function of a gated feed-forward's gate, as the model's ffn_act formula names it:
    /// `SiLU` (Llama) or `GELU_tanh` (Gemma 3).
    var gateActivation: String {
        guard let formula = model?.stepFormulas[.feedForwardActivation], let equals = formula.range(of: "= "),
              let open = formula.range(of: "(", range: equals.upperBound..<formula.endIndex) else { return "SiLU" }
        return String(formula[equals.upperBound..<open.lowerBound])
    }

    /// The steps the selected model has (the encoder's before a model is chosen).
    var availableSteps: [Step] {
        model?.steps ?? Bert.steps
    }

    /// Refuses the whole T × vocabulary logits of a trace too long for ``ModelBudget/maximumLogitsBytes``.
    func requireLogitsFit(_ trace: Trace) throws {
        guard let model, !ModelBudget.logitsFit(tokens: trace.count, vocabulary: model.sizes.vocabulary) else { return }
        throw NotebookError.logitsTooLarge(tokens: trace.count, vocabulary: model.sizes.vocabulary)
    }

    /// The matrix of a step at the selected layer and head, or an error saying which model has it.
    func stepMatrix(_ trace: Trace, _ step: Step) throws -> Matrix {
        if step == .logits { try requireLogitsFit(trace) }
        guard let matrix = trace.matrix(step, layer: layer, head: head) else {
            throw NotebookError.stepNotInModel(step.rawValue, model: modelName)
        }
        return matrix
    }

    /// `scaled = scores / √32   [8 × 8]`
    func header(_ step: Step, _ matrix: Matrix) -> String {
        guard let model else { return step.rawValue }
        let dh = model.sizes.headDimension
        let info = StepInfo.info(step)
        var formula = (model.stepFormulas[step] ?? info.formula)
            .replacingOccurrences(of: "{D}", with: String(dh))
            .replacingOccurrences(of: "{KV}", with: String(cachedTrace?.layers[layer].heads[head].keyValueHead ?? 0))
            .replacingOccurrences(of: "{L}", with: String(layer))
            .replacingOccurrences(of: "{LASTHEAD}", with: subscripted(model.sizes.heads - 1))
            .replacingOccurrences(of: "{WINDOW}", with: model.attentionWindow(layer: layer).map {
                "local layer: −∞ above the diagonal and more than \($0 - 1) back" } ?? "global layer: −∞ above the diagonal")
        if step == .x { formula += layer > 0 ? " = out of layer \(layer - 1)" : " = embeddings" }
        return "\(formula)   \(matrix.shapeDescription)"
    }

    /// The header's formula without the shape: `weights = softmax(masked)`.
    func formula(_ step: Step, _ matrix: Matrix) -> String {
        header(step, matrix).components(separatedBy: "   [").first ?? step.rawValue
    }

    /// Where a step was computed: the layer and head, and the checkpoint tensors it used.
    func provenance(_ step: Step) -> [String] {
        model?.provenance(of: step, layer: layer, head: head) ?? []
    }

    // MARK: Every layer at once

    /// The characters that name keys 0…61 in `STEP all`.
    static let keySymbols = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

    /// `STEP all`: a step of every layer and head at once (what `output_attentions=True` gives),
    /// layers as rows and heads as columns, in bands of heads that fit the width.
    ///
    /// A token × token step shows each head as one character per query row: the key where the row
    /// is largest (its argmax; for weights, the key the query attends to most), named `0`–`9`,
    /// `a`–`z`, `A`–`Z`. Any other step shows the mean length ‖row‖₂ of each matrix.
    func showAll(_ step: Step) throws -> String {
        let trace = try requireTrace()
        let matrices = try everyLayer(trace, step)
        let shape = Self.shapeText(Self.stackedShape(matrices, step))
        let perHead = step.scope == .head
        let cells: [[String]]
        var text: String
        if step.isTokenByToken {
            let t = trace.count
            guard t <= Self.keySymbols.count else {
                throw NotebookError.overviewDoesNotFit(step: step.rawValue,
                    reason: "it names each key with one character, for at most \(Self.keySymbols.count) tokens, and the sentence has \(t)")
            }
            cells = matrices.map { $0.map { m in String((0..<m.rows).map { Self.keySymbols[Self.argmax(m.row($0))] }) } }
            text = fit("\(step.rawValue), layers × heads: the argmax key of each query row   \(shape)") + "\n"
            text += wrap("one character per query row 0…\(t - 1), naming its key: "
                + trace.tokens.enumerated().map { "\(Self.keySymbols[$0.offset])=\($0.element)" }.joined(separator: " "), indent: "  ") + "\n"
        } else {
            cells = matrices.map { $0.map { m in String(format: "%.1f", Self.meanRowLength(m)) } }
            text = fit("\(step.rawValue), layers\(perHead ? " × heads" : ""): the mean length ‖row‖ of its rows   \(shape)") + "\n"
            text += wrap("export \(step.rawValue) all PATH.npy writes every number") + "\n"
        }
        let columns = perHead ? (0..<cells[0].count).map { "H\($0)" } : ["‖row‖"]
        text += try bands(cells, rowTitles: (0..<cells.count).map { "L\($0)" }, columnTitles: columns,
                          alignLeft: step.isTokenByToken, step: step)
        return text + "\n"
    }

    /// A table of short cells, its columns cut into bands that fit the width, one blank line
    /// between bands.
    func bands(_ cells: [[String]], rowTitles: [String], columnTitles: [String], alignLeft: Bool, step: Step) throws -> String {
        let titleWidth = rowTitles.map(MatrixRenderer.displayWidth).max() ?? 0
        let cellWidth = (cells.flatMap { $0 } + columnTitles).map(MatrixRenderer.displayWidth).max() ?? 0
        let perColumn = cellWidth + 2
        guard titleWidth + perColumn <= renderer.width else {
            throw NotebookError.overviewDoesNotFit(step: step.rawValue,
                reason: "one head takes \(titleWidth + perColumn) columns and the terminal has \(renderer.width)")
        }
        let fit = (renderer.width - titleWidth) / perColumn
        var blocks: [String] = []
        for start in stride(from: 0, to: columnTitles.count, by: fit) {
            let band = start..<min(start + fit, columnTitles.count)
            var lines = [String(repeating: " ", count: titleWidth) + band.map { "  " + MatrixRenderer.pad(columnTitles[$0], cellWidth, alignLeft: alignLeft) }.joined()]
            for (r, row) in cells.enumerated() {
                lines.append(MatrixRenderer.pad(rowTitles[r], titleWidth, alignLeft: true)
                    + band.map { "  " + MatrixRenderer.pad(row[$0], cellWidth, alignLeft: alignLeft) }.joined())
            }
            blocks.append(lines.map(MatrixRenderer.trimTrailing).joined(separator: "\n") + "\n")
        }
        return blocks.joined(separator: "\n")
    }

    /// The first index of the largest value (−∞ never wins over a finite one).
    static func argmax(_ row: [Float]) -> Int {
        var best = 0
        for j in row.indices where row[j] > row[best] { best = j }
        return best
    }

    /// The mean over rows of ‖row‖₂.
    static func meanRowLength(_ m: Matrix) -> Double {
        guard m.rows > 0 else { return 0 }
        let total = (0..<m.rows).reduce(0.0) { sum, i in sum + sqrt(m.row(i).reduce(0.0) { $0 + Double($1) * Double($1) }) }
        return total / Double(m.rows)
    }
}
