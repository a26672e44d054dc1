import AttnCore

/// Following a lesson: the list, starting and stopping one, moving through its steps.
enum LessonCommands: CommandGroup {
    static let title = "lessons"
    static let commands: [any NotebookCommand.Type] = [
        LessonsCommand.self, LessonCommand.self, NextCommand.self, BackCommand.self, WhereCommand.self,
        HintCommand.self, SkipCommand.self,
    ]
}

/// `lessons [DIR]`: the lessons with the learner's progress; with DIR, someone else's lessons.
struct LessonsCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["lessons"], synopsis: ["lessons [DIR] [--lang zh|en]"], help: [("lessons", "lessons: the lessons with your progress; lesson N starts or resumes one. lessons --lang zh follows them in Simplified Chinese (简体中文), lessons --lang en in English, from now on (remembered; at first attn follows LANG or LC_ALL: zh_CN.UTF-8 is Chinese). lessons DIR follows the lessons of another directory from now on (a teacher's: Lessons/README.md describes the format; their translations in DIR/zh); lesson PATH.md starts a single lesson file.")])

    /// The directory to follow from now on, if one was given.
    var directory: String?
    /// `--lang CODE`: the language to follow them in from now on.
    var language: LessonLanguage?

    static let usage = "lessons, lessons DIR, lessons --lang \(LessonLanguage.allCases.map(\.rawValue).joined(separator: "|"))"

    init(word: String, arguments: String) throws {
        var words = arguments.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if let flag = words.firstIndex(of: "--lang") {
            guard flag + 1 < words.count else { throw NotebookError.usage(command: "lessons", usage: Self.usage) }
            guard let language = LessonLanguage(argument: words[flag + 1]) else {
                throw NotebookError.lesson("lessons --lang \(shown(words[flag + 1])): the lessons are in \(LessonLanguage.choices) (zh: Simplified Chinese)")
            }
            self.language = language
            words.removeSubrange(flag...(flag + 1))
        }
        // A directory's name may hold spaces: all that is left is the directory.
        if !words.isEmpty {
            guard language == nil || words.count == 1 else { throw NotebookError.usage(command: "lessons", usage: Self.usage) }
            directory = language == nil ? arguments.trimmingWhitespace() : words[0]
        }
    }

    func run(in session: Session) throws -> String {
        if let directory { try session.useLessons(in: directory) }
        var text = ""
        if let language {
            session.useLanguage(language)
            text += "lessons in \(language.name) from now on\n"
        }
        return text + session.listLessons()
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        if request.previous.last == "--lang" { return request.matching(LessonLanguage.allCases.map(\.rawValue)) }
        if request.word.hasPrefix("-") { return request.matching(["--lang"]) }
        return .files
    }
}

/// `lesson N` (or its name) starts or resumes a lesson; `lesson stop` leaves it.
struct LessonCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["lesson"], synopsis: ["lesson N [--model NAME]", "lesson stop"],
        help: [("lesson", "lesson N (or its name): starts or resumes a lesson. Enter or next runs the shown commands, back goes back, where tells the position, lesson stop leaves; you may type any command in between. lesson N --model NAME runs a lesson about a kind of model (lessons lists which) on another model of that kind: lesson 11 --model gpt2; its prose still quotes the numbers of its own model."), ("lesson stop", "lesson stop: leaves the lesson; your place is remembered, and lesson N resumes it.")], movesThroughLessons: true)

    /// The lesson's number or name; nil for `lesson stop`.
    var which: String?
    /// `--model NAME`: the model to run a lesson about a kind of model on.
    var model: String?

    static let usage = "lesson N or lesson NAME (lessons lists them), lesson N --model NAME, lesson stop"

    init(word: String, arguments: String) throws {
        let words = arguments.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        switch words.count {
        case 1: which = words[0] == "stop" ? nil : words[0]
        case 3 where words[1] == "--model" && words[0] != "stop": (which, model) = (words[0], words[2])
        default: throw NotebookError.usage(command: "lesson", usage: Self.usage)
        }
    }

    func run(in session: Session) throws -> String {
        guard let which else { return try session.stopLesson() }
        return try session.startLesson(which, model: model)
    }
}

/// `next` (or Enter): runs the lesson's shown commands and goes on.
struct NextCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["next"], synopsis: ["next (or Enter)"], help: [("next", "next (or Enter): in a lesson, runs the commands shown and goes on to the next step; at an exercise it says what the exercise waits for.")], movesThroughLessons: true)

    init(word: String, arguments: String) {}

    func run(in session: Session) throws -> String { try session.lessonNext() }
}

/// `back`: one step back in the lesson.
struct BackCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["back"], synopsis: ["back"], help: [("back", "back: in a lesson, goes back one step and shows it again.")], movesThroughLessons: true)

    init(word: String, arguments: String) {}

    func run(in session: Session) throws -> String { try session.lessonBack() }
}

/// `where`: the lesson and the step the learner is at.
struct WhereCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["where"], synopsis: ["where"], help: [("where", "where: in a lesson, which lesson and which step of it you are at.")], movesThroughLessons: true)

    init(word: String, arguments: String) {}

    func run(in session: Session) throws -> String { try session.lessonWhere() }
}

/// `hint`: the exercise's next hint, finally its solution.
struct HintCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["hint"], synopsis: ["hint"], help: [("hint", "hint: at an exercise, the next hint, and finally the solution.")], movesThroughLessons: true)

    init(word: String, arguments: String) {}

    func run(in session: Session) throws -> String { try session.lessonHint() }
}

/// `skip`: shows and runs the exercise's solution, and goes on.
struct SkipCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["skip"], synopsis: ["skip"], help: [("skip", "skip: at an exercise, shows and runs the solution and goes on.")], movesThroughLessons: true)

    init(word: String, arguments: String) {}

    func run(in session: Session) throws -> String { try session.lessonSkip() }
}
