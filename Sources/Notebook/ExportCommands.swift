import AttnCore

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
                   "export NAME PATH", "export R[2, :] PATH", "export rollout PATH"],
        help: [("export", "export STEP PATH: writes the whole step as .npy (float32, C order) or .csv (%.9g); export tokens PATH writes id<TAB>token lines to .tsv or .txt; a device such as /dev/stdout gets text. A file that is there and that this session did not write is replaced only when the name ends with ! (export weights w.npy!); a lesson never replaces one. export STEP all PATH.npy writes every layer and head as one array: [layers, heads, T, T] for scores, scaled, masked and weights (what torch.stack(outputs.attentions)[:, 0] gives), [layers, heads, T, dₕ] for q, k, v and z, [layers, T, d] for x, attn_out, out and the other steps of a layer; .csv holds only two dimensions. export NAME PATH writes one of your names or the model's (export R r.csv, export W_Q wq.npy), export weights[2, :] PATH a slice, evaluated as the math evaluates it.")])

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
        guard what == "tokens" || what == "rollout" || Step(rawValue: what) != nil || MathSyntax.isName(name) else {
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

    var writtenPath: String? { path }

    func run(in session: Session) throws -> String {
        if all, let step = Step(rawValue: what) { return try session.exportAll(step, to: path) }
        return try session.export(what, to: path)
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        let session = request.session
        switch request.previous.count {
        case 0:
            return request.matching(["tokens", "rollout"] + session.availableSteps.map(\.rawValue) + session.learnerNames.keys.sorted())
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
    static let definition = CommandDefinition(words: ["plot"], synopsis: ["plot STEP PATH.svg"], help: [("plot", "plot STEP PATH.svg: an SVG heatmap of a token × token step (scores, scaled, masked, weights) or of rollout, with the tokens on both axes, a colour legend, the formula, layer and head in the title and every cell's value on hover; opens in any browser. An existing file this session did not write needs ! after the name (plot weights w.svg!).")])

    var what: String
    var path: String

    init(word: String, arguments: String) throws {
        let usage = "plot STEP PATH.svg, e.g. plot weights w.svg (STEP: scores, scaled, masked, weights, rollout)"
        let split = arguments.split(separator: " ", maxSplits: 1).map(String.init)
        guard split.count == 2 else { throw NotebookError.usage(command: "plot", usage: usage) }
        what = split[0]
        guard what == "rollout" || Step(rawValue: what) != nil else {
            let plottable = ["rollout"] + Step.allCases.filter(\.isTokenByToken).map(\.rawValue)
            throw NotebookError.unknownStep(what, suggestion: closest(to: what, in: plottable))
        }
        path = split[1].trimmingWhitespace()
    }

    var writtenPath: String? { path }

    func run(in session: Session) throws -> String { try session.plot(what, to: path) }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.isEmpty ? request.matching(Step.allCases.filter(\.isTokenByToken).map(\.rawValue) + ["rollout"]) : .files
    }
}

/// `save transcript PATH.md`: the session so far as Markdown.
struct SaveCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["save"], synopsis: ["save transcript PATH.md"],
        help: [("save", "save transcript PATH.md: the session so far as Markdown: every command after its prompt, with its output, in fenced blocks; # comments become paragraphs. An existing file this session did not write needs ! after the name (save transcript t.md!)."), ("save transcript", "save transcript PATH.md: the session so far as Markdown, every command with its output.")])

    var path: String

    init(word: String, arguments: String) throws {
        let (what, path) = arguments.splitFirstWord()
        guard what == "transcript", !path.isEmpty else {
            throw NotebookError.usage(command: "save", usage: "save transcript PATH.md")
        }
        self.path = path
    }

    var writtenPath: String? { path }

    func run(in session: Session) throws -> String { try session.saveTranscript(to: path) }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.isEmpty ? request.matching(["transcript"]) : .files
    }
}
