import AttnCore
import Foundation

/// How numbers are shown, and which rows of a long step.
enum ViewCommands: CommandGroup {
    static let title = "view"
    static let commands: [any NotebookCommand.Type] = [PrecisionCommand.self, FocusCommand.self]
}

/// Help and leaving.
enum OtherCommands: CommandGroup {
    static let title = "other"
    static let commands: [any NotebookCommand.Type] = [HelpCommand.self, ClearCommand.self, QuitCommand.self]
}

/// `precision N`: digits after the decimal point.
struct PrecisionCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["precision"], synopsis: ["precision N"], help: [("precision", "precision N: digits after the decimal point, 0…8.")])
    var setsLessonState: Bool { true }

    var digits: Int

    init(word: String, arguments: String) throws {
        digits = try Arguments.number(arguments, command: "precision", usage: "precision N, 0 ≤ N ≤ 8 digits after the point")
        guard (0...8).contains(digits) else { throw NotebookError.precisionOutOfRange(digits) }
    }

    func run(in session: Session) throws -> String {
        session.renderer.precision = digits
        return ""
    }
}

/// `help [TOPIC]` (or `?`): the commands by group, or one command, step, function or the math.
struct HelpCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["help", "?"], synopsis: ["help STEP (its formula and meaning)"],
        help: [("help", "help: the commands by group; help TOPIC explains a command (help lesson stop), a step (help weights), the math (help math) or one of its functions (help softmax)."), ("?", "? is help: the commands by group; ? TOPIC explains one.")])

    var topic: String?

    init(word: String, arguments: String) {
        topic = arguments.isEmpty ? nil : arguments
    }

    func run(in session: Session) throws -> String { try session.help(topic) }

    static func completions(_ request: CompletionRequest) -> Completion? {
        guard request.previous.isEmpty else { return nil }
        return request.matching(request.session.availableSteps.map(\.rawValue) + Commands.words + ["math"] + MathSyntax.functions)
    }
}

/// `clear` (or Ctrl-L): clears the terminal's screen, as the shell's `clear` does.
struct ClearCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["clear"], synopsis: ["clear"],
        help: [("clear", "clear (or Ctrl-L): clears the screen; the session, its sentence and its choices stay. In a script it does nothing.")])

    init(word: String, arguments: String) throws {
        guard arguments.isEmpty else { throw NotebookError.usage(command: "clear", usage: "clear") }
    }

    func run(in session: Session) throws -> String {
        session.wantsClearScreen = true
        return ""
    }
}

/// `quit` (or `exit`, or Ctrl-D): leaves attn.
struct QuitCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["quit", "exit"], synopsis: ["quit"],
        help: [("quit", "quit (or exit, or Ctrl-D): leaves attn."), ("exit", "exit (or quit, or Ctrl-D): leaves attn.")], movesThroughLessons: true)

    init(word: String, arguments: String) {}

    func run(in session: Session) throws -> String {
        session.wantsToQuit = true
        return ""
    }
}

// MARK: - What the commands do

/// `help`: the commands by group, each step's formula and meaning, each command and function.
extension Session {

    func help(_ topic: String?) throws -> String {
        guard let topic else { return Commands.overview(self) }
        if let step = Step(rawValue: topic) {
            let info = StepInfo.info(step)
            let formula = info.formula.replacingOccurrences(of: "{D}", with: "dₕ").replacingOccurrences(of: "{L}", with: "L")
                .replacingOccurrences(of: "{LASTHEAD}", with: "ₕ")
            return "\(formula)\n" + wrap(info.explanation) + "\n"
        }
        if topic == "math" { return MathSyntax.help }
        if let function = MathSyntax.function(named: topic) {
            return wrap("\(function.usage): \(function.summary)") + "\n(help math lists every function and operator)\n"
        }
        // `help lesson stop`, `help ablate clear`: the whole topic, else its first word.
        let words = topic.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        if let text = Commands.help(words) ?? Commands.help(String(words.prefix { $0 != " " })) {
            return wrap(text) + "\n"
        }
        throw NotebookError.noHelp(topic, suggestion: closest(to: topic, in: Self.helpTopics))
    }

    /// Every topic `help TOPIC` answers: the commands, the steps, the math and its functions.
    static var helpTopics: [String] {
        Commands.helpTopics.sorted() + StepInfo.names + ["math"] + MathSyntax.functions
    }
}
