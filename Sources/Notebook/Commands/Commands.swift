import AttnCore

/// The notebook's grammar: one command per line, `#` starts a comment. The commands are those the
/// groups declare; a line whose first word is none of them is the learner's math, or a typo.
///
/// ```
/// model minilm [PATH]   sentence TEXT | sentence "…"   layer N   head N   tokens   walk
/// STEP   STEP[rows, cols]   STEP all   show STEP[rows, cols]   export STEP PATH   precision N
/// check EXPR STEP   names   del NAME   heads [all]   neuron I J   rollout   ablate head L H
/// importance   target [WHAT]   classify LABELS   lime [N]   induction [N]   corrupt TEXT   patch
/// predict [K]   generate N   sample N   chat TEXT   lessons   lesson N   next   help [TOPIC]   quit
/// ```
public enum Commands {
    /// The groups in the order `help` shows them.
    static let groups: [any CommandGroup.Type] = [
        SelectCommands.self, StepCommands.self, DecoderCommands.self, MathCommands.self,
        LessonCommands.self, ExploreCommands.self, ExplainCommands.self, ExportCommands.self, ViewCommands.self, OtherCommands.self,
    ]

    /// Every command.
    static let all: [any NotebookCommand.Type] = groups.flatMap { $0.commands }

    /// The command each word runs.
    static let byWord: [String: any NotebookCommand.Type] = {
        var table: [String: any NotebookCommand.Type] = [:]
        for command in all {
            for word in command.definition.words { table[word] = command }
        }
        return table
    }()

    /// Every command word (aliases made of letters included, `?` not) and every step, for
    /// suggestions and completion.
    static let words: [String] = all.flatMap { $0.definition.words.filter { $0.first?.isLetter == true } } + StepInfo.names

    /// What a line is.
    enum Line {
        /// A blank line (Enter) or a comment.
        case nothing(blank: Bool)
        case command(any NotebookCommand)
        /// No command: the learner's math, if it looks like math, else a mistyped command.
        case other(word: String)
    }

    /// Reads one line.
    /// - Throws: `NotebookError` when a command's arguments are wrong.
    static func parse(_ line: String) throws -> Line {
        let trimmed = line.trimmingWhitespace()
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return .nothing(blank: trimmed.isEmpty) }
        let (word, rest) = trimmed.splitFirstWord()
        if let command = byWord[word] { return .command(try command.init(word: word, arguments: rest)) }
        if let step = ShowCommand(stepLine: trimmed) { return .command(step) }
        return .other(word: word)
    }

    /// The command a line runs, if it is one whose arguments are right.
    static func command(_ line: String) -> (any NotebookCommand)? {
        guard case let .command(command)? = try? parse(line) else { return nil }
        return command
    }

    // MARK: help

    /// The notebook's commands as `help` lists them before any model is chosen: what `attn --help`
    /// shows, so that the two agree.
    /// (ArgumentParser wraps its help at 79 columns, so the lines are packed a little narrower.)
    public static var overview: String {
        String(overview(Session(), width: 78).reversed().drop { $0 == "\n" }.reversed())
    }

    /// `help` with no topic: each group's usages, packed into lines of at most 80 columns under
    /// the group's title.
    static func overview(_ session: Session, width: Int = 80) -> String {
        let indent = String(repeating: " ", count: 9)
        var text = ""
        for group in groups {
            let items = group.commands.flatMap { $0.synopsis(session) }
            let lines = packed(items, width: width - indent.count) + group.notes(session)
            for (i, line) in lines.enumerated() {
                text += (i == 0 ? group.title.padding(toLength: indent.count, withPad: " ", startingAt: 0) : indent) + line + "\n"
            }
        }
        return text + "\n"
    }

    /// Items joined by four spaces into lines of at most `width` columns; an item wider than a
    /// line is wrapped on its own.
    static func packed(_ items: [String], width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for item in items {
            if line.isEmpty {
                line = item
            } else if MatrixRenderer.displayWidth(line) + 4 + MatrixRenderer.displayWidth(item) <= width {
                line += "    " + item
            } else {
                lines.append(line)
                line = item
            }
            if MatrixRenderer.displayWidth(line) > width {
                lines += wrappedLines(line, width: width)
                line = ""
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// The help text of a command topic (`ablate`, `ablate clear`, `?`), if there is one.
    static func help(_ topic: String) -> String? {
        for command in all {
            if let text = command.definition.help.first(where: { $0.topic == topic })?.text { return text }
        }
        return nil
    }

    /// Every command topic `help` answers.
    static var helpTopics: [String] { all.flatMap { $0.definition.help.map(\.topic) } }
}
