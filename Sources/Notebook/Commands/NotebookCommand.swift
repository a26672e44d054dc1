import AttnCore

/// One notebook command, declared in one place: the words that run it, its help, how it reads its
/// arguments (with all their validation), what Tab offers after it, and what it does — the way
/// swift-argument-parser keeps a command's name, arguments and `run` together.
///
/// Commands are grouped as `help` lists them (`CommandGroup`); each group's file declares its
/// commands and their list, and `Commands` derives the word list, `help` and completion from the
/// groups. Adding a command touches the file of its group only.
protocol NotebookCommand: Sendable {
    /// Its words, help and place in the overview.
    static var definition: CommandDefinition { get }
    /// Reads the line after the command word.
    /// - Parameters:
    ///   - word: the word that was typed (`quit` or `exit`).
    ///   - arguments: the rest of the line, trimmed.
    /// - Throws: `NotebookError` saying what is wrong and what would be right.
    init(word: String, arguments: String) throws
    /// Does it, returning what it prints.
    func run(in session: Session) throws -> String
    /// What Tab offers for the argument being typed; nil leaves it to the math's names.
    static func completions(_ request: CompletionRequest) -> Completion?
    /// The file the command writes, resolved as given (nil when it writes none).
    var writtenPath: String? { get }
    /// Whether the command sets up state a later lesson step relies on (the model, the sentence,
    /// the selected layer and head, the decoder's settings): replayed when a lesson resumes.
    var setsLessonState: Bool { get }
    /// Its usages in the `help` overview, which may depend on the model (the steps it has).
    static func synopsis(_ session: Session) -> [String]
}

extension NotebookCommand {
    static func completions(_ request: CompletionRequest) -> Completion? { nil }
    var writtenPath: String? { nil }
    var setsLessonState: Bool { false }
    static func synopsis(_ session: Session) -> [String] { definition.synopsis }
}

/// What `help` and the word list know about a command.
struct CommandDefinition: Sendable {
    /// The words that run it: its name, then its aliases (`exit`, `?`).
    var words: [String]
    /// Its usages as the `help` overview lists them, e.g. `ablate head L H`, `ablate clear`.
    var synopsis: [String]
    /// `help TOPIC`: the topics it answers (its words, and two-word ones such as `ablate clear`)
    /// with their text.
    var help: [(topic: String, text: String)]
    /// A command that moves through lessons or leaves the notebook: the learner's to type, never a
    /// lesson block's, which would run blocks itself.
    var movesThroughLessons = false

    var name: String { words[0] }
}

/// One group of the `help` overview, declared by the file that holds its commands.
protocol CommandGroup: Sendable {
    /// The word before the group's first line (`select`, `decoder`, …).
    static var title: String { get }
    /// Its commands, in the order `help` lists them.
    static var commands: [any NotebookCommand.Type] { get }
    /// Lines that follow the commands (`(these need model smollm2)`); may depend on the session.
    static func notes(_ session: Session) -> [String]
}

extension CommandGroup {
    static func notes(_ session: Session) -> [String] { [] }
}

/// What Tab is completing: the command's arguments typed before the cursor and the partial word at it.
struct CompletionRequest {
    let session: Session
    /// The command word, as typed.
    let command: String
    /// The whole words after the command word, before the cursor.
    let previous: [String]
    /// The partial word at the cursor.
    let word: String

    /// `candidates` that start with the word being typed, each once.
    func matching(_ candidates: [String]) -> Completion {
        var seen = Set<String>()
        return .words(candidates.filter { $0.hasPrefix(word) && seen.insert($0).inserted })
    }

    /// Layer numbers of the selected model.
    var layerNumbers: [String] { (0..<(session.model?.sizes.layers ?? 0)).map(String.init) }
    /// Head numbers of the selected model.
    var headNumbers: [String] { (0..<(session.model?.sizes.heads ?? 0)).map(String.init) }
}
