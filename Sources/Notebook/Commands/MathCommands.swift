import AttnCore

/// The learner's own math: checking it against the model, the names it can use, forgetting names.
/// (A line that is no command at all, `A = softmax(scores)`, goes to the math itself.)
enum MathCommands: CommandGroup {
    static let title = "math"
    static let commands: [any NotebookCommand.Type] = [CheckCommand.self, NamesCommand.self, DeleteCommand.self]
    static func notes(_ session: Session) -> [String] { ["help math"] }
}

/// `check EXPR STEP`: the learner's expression against the model's step.
struct CheckCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["check"], synopsis: ["NAME = EXPR    EXPR    check EXPR STEP"], help: [("check", "check EXPR STEP: computes EXPR with the names of this layer and head (names lists them) and compares it with the model's STEP: ✓ when the shapes agree and max|Δ| ≤ 1e-4, else ✗ with where the difference is largest. STEP may be a slice of a step: check weights[1] @ V z[1] checks one row. STEP may also be a number lime or classify computed: lime_weights, lime_coef, class_p, ….")])

    var expression: String
    /// The step's name, perhaps with a slice: `z[1]`, `scores[3, 2]`.
    var step: String

    init(word: String, arguments: String) throws {
        let usage = "check EXPR STEP, e.g. check softmax(Q @ K.T / sqrt(dk)) weights"
        (expression, step) = Arguments.splitCheck(arguments)
        guard !expression.isEmpty, !step.isEmpty else { throw NotebookError.usage(command: "check", usage: usage) }
        let name = String(step.prefix { $0 != "[" })
        guard Step(rawValue: name) != nil || Session.explanationNames.contains(name) else {
            throw NotebookError.unknownStep(name, suggestion: closest(to: name, in: StepInfo.names + Session.explanationNames))
        }
    }

    func run(in session: Session) throws -> String { try session.check(expression, against: step) }
}

/// `names`: the names the math can use, with their shapes.
struct NamesCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["names"], synopsis: ["names"], help: [("names", "names: the names your math can use (X, Q, K, V, W_Q, …, dk, T) with their shapes, and the ones you bound.")])

    init(word: String, arguments: String) {}

    func run(in session: Session) throws -> String { try session.listNames() }
}

/// `del NAME …`: forgets names the learner bound.
struct DeleteCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["del"], synopsis: ["del NAME"], help: [("del", "del NAME …: forgets names you bound. One of your names holds at most \(megabytes(cells: Double(MathEvaluator.maximumCells))) (\(MathEvaluator.maximumCells) numbers), all of them together \(megabytes(cells: Double(Session.maximumLearnerCells))), and one line's math makes at most \(megabytes(cells: Double(MathEvaluator.maximumCellsPerLine))) of matrices.")])

    var names: [String]

    init(word: String, arguments: String) throws {
        if arguments.hasPrefix("=") {
            throw NotebookError.math("del is a command (del NAME forgets a name you bound): choose another name, e.g. my_del")
        }
        names = arguments.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
        guard !names.isEmpty else { throw NotebookError.usage(command: "del", usage: "del NAME …, e.g. del A B (names lists yours)") }
    }

    func run(in session: Session) throws -> String { try session.deleteNames(names) }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.matching(request.session.learnerNames.keys.sorted())
    }
}
