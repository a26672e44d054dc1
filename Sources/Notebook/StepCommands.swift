import AttnCore

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

    init(step: Step, rows: Slice? = nil, columns: Slice? = nil, all: Bool = false) {
        (self.step, self.rows, self.columns, self.all) = (step, rows, columns, all)
    }

    init(word: String, arguments: String) throws {
        guard !arguments.isEmpty else {
            throw NotebookError.usage(command: "show", usage: "show STEP or show STEP[rows, columns], e.g. show q[0:4, 0:8]")
        }
        if case let (name, "all") = arguments.splitFirstWord(), let step = Step(rawValue: name) {
            self.init(step: step, all: true)
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
        all ? try session.showAll(step) : try session.show(step, rows: rows, columns: columns)
    }

    /// The steps the model has, then how to show them.
    static func synopsis(_ session: Session) -> [String] {
        [session.availableSteps.map(\.rawValue).joined(separator: " ")] + definition.synopsis
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        switch request.previous.count {
        case 0: request.matching(request.session.availableSteps.map(\.rawValue))
        case 1 where Step(rawValue: request.previous[0]) != nil: request.matching(["all"])
        default: nil
        }
    }
}
