import AttnCore
import Foundation

/// A lesson being followed: which block comes next, and the exercise state.
struct ActiveLesson {
    var lesson: Lesson
    /// The index of the block shown and waiting (== blocks.count at the end).
    var position: Int
    /// Hints shown for the current exercise.
    var hintsShown = 0
}

/// Following a lesson in the shell: the prose up to the next block, the block's commands, run on
/// Enter or `next`; exercises wait for a passing `check`, or `hint`, or `skip`.
extension Session {
    // MARK: Finding lessons and progress

    func allLessons() throws -> [Lesson] {
        try loadLessons().lessons
    }

    /// The lessons, and the files that are not lessons because of an error (with its line).
    func loadLessons() throws -> (lessons: [Lesson], problems: [(name: String, error: Error)]) {
        // Without a directory, the lessons built into the binary.
        guard let directory = lessonsDirectory else { return Lesson.builtIn(language: lessonLanguage) }
        return Lesson.load(in: directory, language: lessonLanguage)
    }

    /// A lesson file's error as one sentence: `PATH:LINE: problem`.
    public static func describeProblem(_ error: Error) -> String {
        if let failure = error as? Runner.Failure { return "\(failure.file):\(failure.line): \(failure.error)" }
        return "\(error)"
    }

    /// `lessons DIR`: follows the lessons of `directory` from now on.
    /// - Throws: when it is not a directory holding at least one lesson (NN-topic.md).
    func useLessons(in directory: String) throws {
        let path = resolve(directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw NotebookError.lesson("lessons \(directory): there is no such directory")
        }
        let loaded = Lesson.load(in: path)
        guard !loaded.lessons.isEmpty || !loaded.problems.isEmpty else {
            throw NotebookError.lesson("lessons \(directory): it holds no lesson (files named NN-topic.md, see Lessons/README.md)")
        }
        if activeLesson != nil { _ = try stopLesson() }
        lessonsDirectory = path
    }

    func findLesson(_ which: String) throws -> Lesson {
        // A path: a lesson file of one's own, followed as the others are.
        if which.hasSuffix(".md") || which.contains("/") {
            let path = resolve(which)
            guard FileManager.default.fileExists(atPath: path) else {
                throw NotebookError.lesson("lesson \(which): there is no such file")
            }
            return try Lesson(path: path)
        }
        let (lessons, problems) = try loadLessons()
        if let number = Int(which), let lesson = lessons.first(where: { $0.number == number }) { return lesson }
        if let lesson = lessons.first(where: { $0.name == which || $0.name.dropFirst(3) == which }) { return lesson }
        // A file that names this lesson but cannot be followed says why.
        if let problem = problems.first(where: { $0.name == which || $0.name.dropFirst(3) == which
                                                  || (Int(which) != nil && Int($0.name.prefix { $0.isNumber }) == Int(which)) }) {
            throw NotebookError.lesson(Self.describeProblem(problem.error))
        }
        let names = lessons.map { String($0.name.dropFirst(3)) }
        let hint = closest(to: which, in: names).map { ": did you mean \($0)?" } ?? ": lessons lists them"
        throw NotebookError.lesson("there is no lesson '\(which)'\(hint)")
    }

    /// The most bytes of progress read: a few hundred lessons' worth and more.
    static let progressLimit = 1 << 20

    /// Saved progress: lesson name → index of the next block (blocks.count when finished).
    ///
    /// The file is untrusted: an entry that is not a whole number from 0 up is skipped with a
    /// warning (and the good ones kept), and a file that cannot be read is warned about once.
    func loadProgress() -> [String: Int] {
        guard let progressPath else { return [:] }
        let contents: StateFile.Contents?
        do {
            contents = try StateFile.read(progressPath, limit: Self.progressLimit)
        } catch {
            warnOnce(about: progressPath, "\(error); lesson progress is not remembered")
            return [:]
        }
        guard let contents else { return [:] }
        /// A position, or nil for an entry that is not a whole number.
        struct Entry: Decodable {
            let position: Int?
            init(from decoder: Decoder) throws { position = try? decoder.singleValueContainer().decode(Int.self) }
        }
        guard let entries = try? JSONDecoder().decode([String: Entry].self, from: contents.data) else {
            warnOnce(about: progressPath, "\(progressPath) is not a JSON object of lesson positions: it is ignored, and the next saved step replaces it")
            return [:]
        }
        var progress: [String: Int] = [:]
        var skipped: [String] = []
        for (name, entry) in entries {
            if let position = entry.position, position >= 0 { progress[name] = position } else { skipped.append(name) }
        }
        if !skipped.isEmpty {
            var names = skipped.sorted().prefix(3).map { "'\(escapingControlCharacters(String($0.prefix(60))))'" }
                .joined(separator: ", ")
            if skipped.count > 3 { names += " and \(skipped.count - 3) more" }
            warnOnce(about: progressPath, "\(progressPath): the progress of \(names) is not a whole number from 0 up: it is skipped, and the next saved step drops it")
        }
        return progress
    }

    func saveProgress(_ lesson: Lesson, _ position: Int) {
        guard let progressPath else { return }
        var progress = loadProgress()
        progress[lesson.name] = max(0, min(position, lesson.blocks.count))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try StateFile.write(try encoder.encode(progress), to: progressPath)
        } catch {
            warnOnce(about: progressPath, "\(error); lesson progress is not remembered")
        }
    }

    /// Warns about a state file once a session: after that the session just goes on without it.
    func warnOnce(about path: String, _ message: String) {
        guard warnedFiles.insert(path).inserted else { return }
        warn(message)
    }

    /// The languages other than English that the lessons followed are translated into.
    func translations() -> [LessonLanguage] {
        LessonLanguage.allCases.filter { language in
            guard let subdirectory = language.subdirectory else { return false }
            guard let lessonsDirectory else {
                return EmbeddedLessons.files.contains { $0.name.hasPrefix(subdirectory + "/") }
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: lessonsDirectory + "/" + subdirectory)) ?? []
            return names.contains { $0.hasSuffix(".md") && $0.first?.isNumber == true }
        }
    }

    // MARK: Commands

    func listLessons() -> String {
        let problems = ((try? loadLessons())?.problems ?? []).map { "not a lesson: " + escapingControlCharacters(Self.describeProblem($0.error)) + "\n" }.joined()
        guard let lessons = try? allLessons(), !lessons.isEmpty else {
            return problems + "no lessons found\(lessonsDirectory.map { " in \($0)" } ?? ""): start attn with --lessons PATH\n"
        }
        let progress = loadProgress()
        let titleWidth = lessons.map { MatrixRenderer.displayWidth($0.title) }.max() ?? 0
        var text = ""
        for lesson in lessons {
            let state: String
            switch progress[lesson.name] {
            case nil, 0?: state = "not started"
            case let n? where n >= lesson.blocks.count: state = "✓ done"
            case let n?: state = "step \(n + 1) of \(lesson.blocks.count)"
            }
            let untranslated = lessonLanguage != .en && !lesson.isTranslation ? " (in English)" : ""
            text += MatrixRenderer.pad(String(lesson.number), 3) + "  " + MatrixRenderer.pad(lesson.title, titleWidth, alignLeft: true)
                + "  " + state + untranslated + "\n"
        }
        text += problems + "type lesson N to start or resume one\n"
        if lessonLanguage != .en {
            text += "lessons in \(lessonLanguage.name); lessons --lang en: in English\n"
        } else if let other = translations().first {
            text += "lessons --lang \(other.rawValue): the lessons in \(other.name)\n"
        }
        let open = lessons.filter { $0.anyModel != nil }
        if let example = open.last {
            let numbers = open.map { String($0.number) }.joined(separator: ", ")
            text += wrap("lessons \(numbers) are about any encoder or decoder: lesson \(example.number) --model NAME runs it on another model of that kind") + "\n"
        }
        return text
    }

    func startLesson(_ which: String, model replacement: String? = nil) throws -> String {
        let lesson = try findLesson(which)
        if let replacement { try checkLessonModel(replacement, for: lesson) }
        var position = loadProgress()[lesson.name] ?? 0
        if position >= lesson.blocks.count { position = 0 }  // finished: start again
        let previous = lessonModel
        lessonModel = replacement
        let setUp: String
        do {
            setUp = try setUpLesson(lesson, before: position)
        } catch {
            lessonModel = previous
            throw error
        }
        activeLesson = ActiveLesson(lesson: lesson, position: position)
        var text = position == 0 ? "" : "(resuming at step \(position + 1) of \(lesson.blocks.count); back goes back)\n"
        if let replacement, let kind = lesson.anyModel {
            text += wrap("lesson \(lesson.number) on \(replacement): the lesson's model lines select \(replacement), any \(kind.rawValue) does; the prose still quotes the numbers of the lesson's own model, and yours differ.") + "\n"
        }
        text += setUp
        if !text.isEmpty { text += "\n" }
        text += try present()
        return text
    }

    /// Checks that `name` may run `lesson`: the lesson is about a kind of model, and `name` is
    /// one of that kind.
    func checkLessonModel(_ name: String, for lesson: Lesson) throws {
        guard let kind = lesson.anyModel else {
            let open = ((try? allLessons()) ?? []).filter { $0.anyModel != nil }.map { String($0.number) }
            throw NotebookError.lesson("lesson \(lesson.number) is about its own model, and runs on it alone; the lessons about any encoder or decoder take --model (lessons \(open.joined(separator: ", ")))")
        }
        let (source, _) = try locateModel(name: name, path: nil)
        let isDecoder = source.architecture is any DecoderModel.Type
        guard isDecoder == (kind == .decoder) else {
            throw NotebookError.lesson("lesson \(lesson.number) is about \(kind.rawValue)s, and \(name) is \(isDecoder ? "a decoder" : "an encoder") (\(source.architecture.architecture))")
        }
    }

    /// A lesson's line as it runs: with `lesson N --model NAME`, a line that selects one of attn's
    /// own models selects NAME instead.
    func lessonLine(_ text: String) -> String {
        guard let lessonModel, let command = Commands.command(text) as? ModelCommand, command.path == nil,
              ModelSource.named(command.name) != nil else { return text }
        return "model \(lessonModel)"
    }

    /// Runs one line of a lesson's block as typed (after ``lessonLine(_:)``), except that the
    /// block's `model NAME` follows its `# if-absent:` (see ``selectLessonModel(_:block:lessonPath:)``).
    func runLessonLine(_ text: String, block: Lesson.Block, lessonPath: String, recorded: Bool = true) throws -> String {
        let line = lessonLine(text)
        if block.modelIfAbsent != nil, let command = Commands.command(line) as? ModelCommand, command.path == nil {
            return try selectLessonModel(command.name, block: block, lessonPath: lessonPath)
        }
        return try recorded ? execute(line) : executeLine(line)
    }

    /// Selects `name` for a lesson as `model NAME` does; when the learner has no such model and
    /// `block` names one beside the lesson (`# if-absent: models/tiny-gpt2`), that one, saying so.
    func selectLessonModel(_ name: String, block: Lesson.Block?, lessonPath: String) throws -> String {
        guard let fallback = block?.modelIfAbsent, ModelSource.named(name) == nil,
              (try? locateModel(name: name, path: nil)) == nil else {
            return modelReport(name, dropped: try loadModel(name: name, path: nil))
        }
        // A translation (Lessons/zh/17-….md) shares the models of the lessons it translates.
        var directory = resolve((lessonPath as NSString).deletingLastPathComponent)
        if !FileManager.default.fileExists(atPath: directory + "/" + fallback),
           LessonLanguage.allCases.contains(where: { $0.subdirectory == (directory as NSString).lastPathComponent }) {
            directory = (directory as NSString).deletingLastPathComponent
        }
        let location = directory + "/" + fallback
        let source = try ModelSource.checkpoint(name: name, title: fallback, location: location, origin: .lessons)
        let dropped = try loadModel(source, at: location, named: true)
        return wrap("no \(name) in your caches: this lesson opens \(fallback) beside it instead", indent: "  ") + "\n"
            + modelReport(name, dropped: dropped)
    }

    // MARK: Setting up

    /// Puts the session where a lesson's prose expects it before block `position`: the lesson's
    /// model (a fresh notebook's MiniLM unless its first block selects another), layer 0, head 0,
    /// precision 4, temperature 1, no ablation, target top and no classifier; then, silently, what
    /// the blocks before `position` selected and bound (model, sentence, layer, head, precision,
    /// temperature, ablations, target, classifier, lime's numbers and the learner's names). Without it, `lesson 4` after `model smollm2` would show SmolLM2's numbers
    /// under prose about MiniLM's.
    ///
    /// - Returns: one line naming what changed ("" when nothing did, as in a fresh session).
    func setUpLesson(_ lesson: Lesson, before position: Int) throws -> String {
        let saved = activeLesson
        activeLesson = nil  // the replayed lines are not lesson navigation
        defer { activeLesson = saved }
        let was = LessonSettings(self)
        try selectOpeningModel(of: lesson, before: position)
        (layer, head, renderer.precision, temperature) = (0, 0, 4, 1)
        (topK, topP, seed) = (nil, nil, 0)
        (explanationTarget, classifier, lastLime) = (.top, nil, nil)
        try replaySettings(of: lesson.blocks.prefix(position), lessonPath: lesson.path)
        let changes = LessonSettings(self).changes(since: was)
        guard !changes.isEmpty else { return "" }
        return wrap("set up for lesson \(lesson.number): " + changes.joined(separator: "; "), indent: "  ") + "\n"
    }

    /// Loads the model the lesson opens with: its first block's `model X` (which selects it anyway
    /// when the lesson starts from the top), else a fresh notebook's.
    func selectOpeningModel(of lesson: Lesson, before position: Int) throws {
        let opening = lesson.blocks.first?.commands.lazy.compactMap { command -> String? in
            guard let model = Commands.command(self.lessonLine(command.text)) as? ModelCommand, model.path == nil else { return nil }
            return model.name
        }.first
        // With `--model NAME`, NAME stands for the lesson's model, named or the default.
        let name = lessonModel ?? opening ?? "minilm"
        if position > 0 || opening == nil, modelSource?.name != name || modelLocation != nil {
            _ = try selectLessonModel(name, block: lesson.blocks.first, lessonPath: lesson.path)
        }
    }

    /// Runs, silently, what `blocks` select and bind: model, sentence, layer, head, precision,
    /// sampling, ablations and the learner's names; nothing they only show.
    func replaySettings(of blocks: ArraySlice<Lesson.Block>, lessonPath: String) throws {
        var ablation: Set<Attention.HeadIndex> = []
        for block in blocks {
            if let text = block.defaultSentence, sentence == nil { _ = try executeLine("sentence \(text)") }
            for command in block.commands {
                switch Commands.command(command.text) {
                case let ablate as AblateCommand:
                    if let head = ablate.head { ablation.insert(head) } else { ablation = [] }
                case let setting? where setting.setsLessonState:
                    _ = try runLessonLine(command.text, block: block, lessonPath: lessonPath, recorded: false)
                case nil:
                    if case .assign? = try? MathParser.parse(command.text) { _ = try executeLine(command.text) }
                default:
                    break
                }
            }
        }
        if ablation != ablated {
            ablated = ablation
            try retrace()
        }
    }

    func stopLesson() throws -> String {
        guard let active = activeLesson else { throw NotebookError.lesson("no lesson is running: lessons lists them") }
        saveProgress(active.lesson, active.position)
        activeLesson = nil
        lessonModel = nil
        return "left lesson \(active.lesson.number) at step \(min(active.position + 1, active.lesson.blocks.count)) of \(active.lesson.blocks.count); lesson \(active.lesson.number) resumes it\n"
    }

    func lessonWhere() throws -> String {
        guard let active = activeLesson else { throw NotebookError.lesson("no lesson is running: lessons lists them") }
        let step = min(active.position + 1, active.lesson.blocks.count)
        return "lesson \(active.lesson.number) (\(active.lesson.title)), step \(step) of \(active.lesson.blocks.count)\n"
    }

    /// Runs the waiting block and shows the next one.
    func lessonNext() throws -> String {
        guard var active = activeLesson else { throw NotebookError.lesson("no lesson is running: lessons lists them") }
        guard active.position < active.lesson.blocks.count else { return finishLesson() }
        let block = active.lesson.blocks[active.position]
        if let step = block.exercise {
            return "this is an exercise: compute \(step) yourself and type check EXPR \(step) — or hint, or skip\n"
        }
        var text = try runBlock(block)
        active.position += 1
        activeLesson = active
        saveProgress(active.lesson, active.position)
        if !text.hasSuffix("\n\n") { text += "\n" }
        text += try present()
        return text
    }

    func lessonBack() throws -> String {
        guard var active = activeLesson else { throw NotebookError.lesson("no lesson is running: lessons lists them") }
        guard active.position > 0 else { return "this is the first step\n" + (try present()) }
        active.position -= 1
        active.hintsShown = 0
        activeLesson = active
        saveProgress(active.lesson, active.position)
        return try present()
    }

    func lessonHint() throws -> String {
        guard var active = activeLesson, active.position < active.lesson.blocks.count,
              active.lesson.blocks[active.position].exercise != nil else {
            throw NotebookError.lesson("hint helps with an exercise, and none is waiting")
        }
        let block = active.lesson.blocks[active.position]
        defer { activeLesson = active }
        if active.hintsShown < block.hints.count {
            active.hintsShown += 1
            return wrap("hint \(active.hintsShown) of \(block.hints.count + 1): \(escapingControlCharacters(block.hints[active.hintsShown - 1]))", indent: "  ") + "\n"
        }
        return "the solution:\n" + block.commands.map { "    \(Self.echo($0.text))\n" }.joined()
    }

    func lessonSkip() throws -> String {
        guard var active = activeLesson, active.position < active.lesson.blocks.count,
              active.lesson.blocks[active.position].exercise != nil else {
            throw NotebookError.lesson("skip skips an exercise, and none is waiting: Enter or next goes on")
        }
        var text = "the solution:\n" + (try runBlock(active.lesson.blocks[active.position]))
        active.position += 1
        activeLesson = active
        saveProgress(active.lesson, active.position)
        text += "\n" + (try present())
        return text
    }

    /// The step the current exercise waits for, if one does.
    var waitingExercise: String? {
        guard let active = activeLesson, active.position < active.lesson.blocks.count else { return nil }
        return active.lesson.blocks[active.position].exercise
    }

    /// The block of the exercise that waits, if one does: its `# forbid:` and `# require:`.
    var waitingExerciseBlock: Lesson.Block? {
        guard let active = activeLesson, active.position < active.lesson.blocks.count,
              active.lesson.blocks[active.position].exercise != nil else { return nil }
        return active.lesson.blocks[active.position]
    }

    /// Called when a `check` passes: an exercise waiting for that step is done.
    func exercisePassed(step: String) -> String {
        guard waitingExercise == step, var active = activeLesson else { return "" }
        active.position += 1
        active.hintsShown = 0
        activeLesson = active
        saveProgress(active.lesson, active.position)
        return "exercise done.\n\n" + ((try? present()) ?? "")
    }

    // MARK: Presenting

    /// The prose before the waiting block, then the block: its commands, or the exercise.
    func present() throws -> String {
        guard let active = activeLesson else { return "" }
        let lesson = active.lesson
        guard active.position < lesson.blocks.count else { return finishLesson() }
        let block = lesson.blocks[active.position]
        let prose = ProseRenderer(width: renderer.width, color: renderer.color)
        var text = prose.render(block.prose)
        if !text.isEmpty { text += "\n" }
        let progress = "step \(active.position + 1) of \(lesson.blocks.count)"
        if let step = block.exercise.map(escapingControlCharacters) {
            text += wrap("✎ exercise (\(progress)): compute \(step) with your own expression, then type") + "\n"
            text += "    check EXPR \(step)\n"
            text += "  (hint shows a hint, skip shows and runs the solution)\n"
        } else {
            text += "▶ \(progress), Enter or next runs:\n"
            for command in block.commands { text += "    \(Self.echo(command.text))\n" }
        }
        return text
    }

    func finishLesson() -> String {
        guard let active = activeLesson else { return "" }
        let prose = ProseRenderer(width: renderer.width, color: renderer.color).render(active.lesson.closing)
        saveProgress(active.lesson, active.lesson.blocks.count)
        activeLesson = nil
        lessonModel = nil
        let next = (try? allLessons())?.first { $0.number > active.lesson.number }
        return prose + (prose.isEmpty ? "" : "\n") + "✓ lesson \(active.lesson.number) done."
            + (next.map { " Next: lesson \($0.number), \($0.title).\n" } ?? " That was the last lesson.\n")
    }

    /// Runs a block's commands as if typed, each after the prompt. A failing command stops the
    /// block with its error.
    func runBlock(_ block: Lesson.Block) throws -> String {
        var text = ""
        let saved = activeLesson
        activeLesson = nil  // the block's own lines are not lesson navigation
        defer { activeLesson = saved }
        try runningLessonBlock {
            if let sentence = block.defaultSentence, self.sentence == nil {
                text += prompt + Self.echo("sentence \(sentence)") + "\n"
                text += try execute("sentence \(sentence)")
            }
            for command in block.commands {
                text += prompt + Self.echo(lessonLine(command.text)) + "\n"
                text += try runLessonLine(command.text, block: block, lessonPath: saved?.lesson.path ?? "")
            }
        }
        return text
    }

    /// A line of a lesson or script as it is echoed after the prompt: trimmed, control characters escaped.
    static func echo(_ line: String) -> String {
        escapingControlCharacters(line.trimmingWhitespace())
    }

    /// The most lesson blocks running one inside another. Parsing refuses the lines that would
    /// nest them, and `run` refuses them in a block; this bound stands behind both.
    static let maximumBlockDepth = 2

    /// Runs `body` as a lesson block's lines: commands that move through lessons are refused
    /// (see `Command.movesThroughLessons`), and blocks cannot nest without bound.
    func runningLessonBlock<T>(_ body: () throws -> T) throws -> T {
        guard lessonBlockDepth < Self.maximumBlockDepth else {
            throw NotebookError.lesson("lesson blocks nested \(lessonBlockDepth + 1) deep: a block cannot run another lesson's blocks")
        }
        lessonBlockDepth += 1
        defer { lessonBlockDepth -= 1 }
        return try body()
    }
}
