import Foundation

/// A lesson: a Markdown file in `Lessons/` named `NN-topic.md`, readable on GitHub as it is.
///
/// Prose alternates with fenced blocks marked `attn` whose lines are commands:
///
///     # 5. Why divide by √dₖ
///     Some prose…
///     ```attn
///     # default-sentence: the cat sat on the mat
///     scores
///     ```
///     ```attn
///     # exercise: weights
///     # hint: softmax works by rows
///     A = softmax(Q @ K.T / sqrt(dk))
///     check A weights
///     ```
///
/// In a block, `# default-sentence: TEXT` sets the sentence only when the learner has none (so a
/// lesson can use the learner's own sentence); `# exercise: STEP` makes the block an exercise in
/// which the learner produces STEP and `check`s it, the block's own lines being the solution;
/// `# hint: …` lines are shown one by one on `hint`. `# any-model: encoder` (or `decoder`) says
/// the lesson is about that kind of model, so that `lesson N --model NAME` may run it on another
/// one: its `model minilm` lines then select NAME. `# if-absent: models/tiny-gpt2` in a block
/// whose `model gpt2` the learner's caches cannot satisfy opens that directory beside the lesson
/// instead, and says so. In an exercise, `# forbid: softmax` names
/// functions or names the checked expression may not use, itself or through the definitions of the
/// learner's names in it, and `# require: MYMASK` those it must use; `check` enforces both while
/// the exercise waits, and `attn replay` holds the solution to them. Other `#` lines are comments.
///
/// A block's lines are the notebook's commands and math, never the commands that move through
/// lessons (`lesson 1`, `next`, `back`, `skip`, `hint`, `where`, `lesson stop`, `quit`): a block
/// that ran them would run blocks itself, without end. Such a line is an error of the file.
public struct Lesson: Sendable {
    /// One fenced block of commands, with the prose that comes before it.
    public struct Block: Sendable {
        /// The Markdown before the block (since the previous block).
        public var prose: String
        /// The commands and the 1-based line of each in the Markdown file.
        public var commands: [(text: String, line: Int)]
        /// For an exercise: the step the learner must reproduce.
        public var exercise: String?
        public var hints: [String]
        /// `# forbid:` names and functions the exercise's expression may not use, even through
        /// the learner's names: `softmax` in lesson 6.
        public var forbidden: [String] = []
        /// `# require:` names and functions it must use: the learner's own `MYMASK` in lesson 11.
        public var required: [String] = []
        /// `# default-sentence:` text, if any.
        public var defaultSentence: String?
        /// `# any-model: decoder`: the lesson is about a kind of model, not about its own one, and
        /// `lesson N --model NAME` may run it on another model of that kind.
        public var anyModel: ModelKind? = nil
        /// `# if-absent: models/tiny-gpt2`: the model, beside the lesson file, that this block's
        /// `model NAME` opens when the learner has no NAME (the real GPT-2 is in few caches).
        public var modelIfAbsent: String? = nil
        /// The line of the opening fence.
        public var line: Int
    }

    /// What a lesson may be about: the encoders (BERT) or the decoders (SmolLM2, GPT-2).
    public enum ModelKind: String, Sendable {
        case encoder, decoder
    }

    /// The kind of model the lesson is about, when any model of that kind may run it
    /// (`# any-model:` in one of its blocks); nil when it needs its own model.
    public var anyModel: ModelKind? { blocks.lazy.compactMap(\.anyModel).first }

    /// The number from the file name (`05-why-scale.md` → 5).
    public let number: Int
    /// The file name without `.md`: `05-why-scale`.
    public let name: String
    /// The first heading.
    public let title: String
    public let path: String
    public let blocks: [Block]
    /// The prose after the last block.
    public let closing: String

    /// Reads and parses a lesson file.
    /// - Throws: `NotebookError.lesson` for an unreadable file; `Runner.Failure` with the line of an
    ///   unclosed block or of a line that moves through lessons (`next`, `lesson 1`, …).
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw NotebookError.lesson("cannot read the lesson \(path)")
        }
        try self.init(text: text, path: path)
    }

    /// A lesson from its Markdown; `path` names it (its file name gives its number and name).
    /// - Throws: `Runner.Failure` as ``init(path:)``.
    public init(text: String, path: String) throws {
        let file = (path as NSString).lastPathComponent
        name = (file as NSString).deletingPathExtension
        number = Int(name.prefix { $0.isNumber }) ?? 0
        self.path = path
        (title, blocks, closing) = try Self.parse(text, file: path)
    }

    /// The title, the blocks and the closing prose of a lesson's Markdown.
    static func parse(_ text: String, file: String) throws -> (String, [Block], String) {
        var parser = Parser(file: file)
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            try parser.read(String(line), number: index + 1)
        }
        return try parser.finish()
    }

    /// Reads a lesson's lines in order: prose (with the title), and ```attn blocks.
    struct Parser {
        let file: String
        var title = ""
        var blocks: [Block] = []
        /// The prose since the last block.
        var prose: [String] = []
        /// The block being read, from its opening fence on.
        var current: Block?
        /// Inside a fence that is not an ```attn block (its lines are prose, never a title).
        var inOtherFence = false

        /// One line of the file; `number` counts from 1.
        mutating func read(_ line: String, number: Int) throws {
            let trimmed = line.trimmingWhitespace()
            if let block = current {
                try read(line, trimmed: trimmed, number: number, in: block)
                return
            }
            if !inOtherFence && trimmed == "```attn" {
                current = Block(prose: prose.joined(separator: "\n"), commands: [], exercise: nil, hints: [],
                                defaultSentence: nil, line: number)
                prose = []
                return
            }
            if trimmed.hasPrefix("```") { inOtherFence.toggle() }
            if title.isEmpty, !inOtherFence, trimmed.hasPrefix("# ") { title = Self.title(heading: trimmed) }
            prose.append(line)
        }

        /// A line inside a block: its closing fence, a directive, a comment, or a command.
        mutating func read(_ line: String, trimmed: String, number: Int, in block: Block) throws {
            var block = block
            if trimmed == "```" {
                if block.exercise == nil, !(block.forbidden + block.required).isEmpty {
                    throw Runner.Failure(file: file, line: block.line, error: NotebookError.lesson(
                        "# forbid: and # require: belong to an exercise: add # exercise: STEP to the block"))
                }
                blocks.append(block)
                current = nil
                return
            }
            if let value = Lesson.directive(trimmed, "exercise") {
                block.exercise = value
            } else if let value = Lesson.directive(trimmed, "hint") {
                block.hints.append(value)
            } else if let value = Lesson.directive(trimmed, "forbid") {
                block.forbidden += Lesson.words(value)
            } else if let value = Lesson.directive(trimmed, "require") {
                block.required += Lesson.words(value)
            } else if let value = Lesson.directive(trimmed, "default-sentence") {
                block.defaultSentence = value
            } else if let value = Lesson.directive(trimmed, "if-absent") {
                // A directory beside the lesson: no way out of it.
                guard !value.isEmpty, !value.hasPrefix("/"), !value.split(separator: "/").contains("..") else {
                    throw Runner.Failure(file: file, line: number, error: NotebookError.lesson(
                        "# if-absent: names a directory beside the lesson, not '\(shown(value))'"))
                }
                block.modelIfAbsent = value
            } else if let value = Lesson.directive(trimmed, "any-model") {
                guard let kind = ModelKind(rawValue: value) else {
                    throw Runner.Failure(file: file, line: number, error: NotebookError.lesson(
                        "# any-model: takes encoder or decoder, not '\(shown(value))'"))
                }
                block.anyModel = kind
            } else if !trimmed.isEmpty && !trimmed.hasPrefix("#") {
                if let command = Commands.command(line), type(of: command).definition.movesThroughLessons {
                    throw Runner.Failure(file: file, line: number, error: NotebookError.lesson(
                        "a lesson's block cannot run '\(shown(trimmed))': only the learner moves through lessons; take the line out of the ```attn block"))
                }
                block.commands.append((line, number))
            }
            current = block
        }

        /// "# 5. Why divide by √dₖ" → "Why divide by √dₖ": the number is shown on its own.
        static func title(heading: String) -> String {
            var heading = Substring(heading.dropFirst(2))
            if let dot = heading.firstIndex(of: "."), heading[..<dot].allSatisfy(\.isNumber), !heading[..<dot].isEmpty {
                heading = heading[heading.index(after: dot)...]
            }
            // Escaped: a title is printed in lists and lines of its own, not only in the prose.
            return escapingControlCharacters(heading.trimmingCharacters(in: .whitespaces))
        }

        /// The title, the blocks and the prose after the last one, once every line is read.
        func finish() throws -> (String, [Block], String) {
            if let current {
                throw Runner.Failure(file: file, line: current.line, error: NotebookError.lesson("the ```attn block is not closed: add a line ``` after its commands"))
            }
            return (title, blocks, prose.joined(separator: "\n"))
        }
    }

    /// `# name: value` → value.
    static func directive(_ line: String, _ name: String) -> String? {
        let prefix = "# \(name):"
        guard line.hasPrefix(prefix) else { return nil }
        return String(line.dropFirst(prefix.count)).trimmingWhitespace()
    }

    /// `Q, K, V` or `Q K V` → Q, K, V.
    static func words(_ text: String) -> [String] {
        text.split { $0 == "," || $0 == " " || $0 == "\t" }.map(String.init)
    }

    /// Whether the lesson is a translation: its file is in a language's subdirectory (`zh/`).
    public var isTranslation: Bool {
        let directory = ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent
        return LessonLanguage.allCases.contains { $0.subdirectory == directory }
    }

    /// The lessons in a directory, by number (the files that cannot be read as lessons left out).
    public static func all(in directory: String) -> [Lesson] {
        load(in: directory).lessons
    }

    /// Where the built-in lessons say they come from, in messages: `(built in)/05-why-scale.md`.
    public static let builtInDirectory = "(built in)"

    /// The lessons built into the binary (`Scripts/embed-lessons.sh` copies `Lessons/` into it),
    /// in `language` where they are translated.
    public static func builtIn(language: LessonLanguage = .en) -> (lessons: [Lesson], problems: [(name: String, error: Error)]) {
        func lessons(in subdirectory: String?) -> (lessons: [Lesson], problems: [(name: String, error: Error)]) {
            let files = EmbeddedLessons.files.filter { ($0.name as NSString).deletingLastPathComponent == (subdirectory ?? "") }
            return parsed(files, name: \.name) { try Lesson(text: $0.text + "\n", path: builtInDirectory + "/" + $0.name) }
        }
        return inLanguage(language, english: lessons(in: nil), translated: language.subdirectory.map(lessons(in:)))
    }

    /// Each of `files` read as a lesson by `read`, or, when it cannot be, a problem named after the
    /// file (`05-why-scale`) with why.
    static func parsed<File>(_ files: [File], name: (File) -> String, read: (File) throws -> Lesson)
        -> (lessons: [Lesson], problems: [(name: String, error: Error)]) {
        var lessons: [Lesson] = [], problems: [(name: String, error: Error)] = []
        for file in files {
            do {
                lessons.append(try read(file))
            } catch {
                problems.append((((name(file) as NSString).lastPathComponent as NSString).deletingPathExtension, error))
            }
        }
        return (lessons, problems)
    }

    /// The English lessons with the translated ones in their place.
    static func inLanguage(_ language: LessonLanguage, english: (lessons: [Lesson], problems: [(name: String, error: Error)]),
                           translated: (lessons: [Lesson], problems: [(name: String, error: Error)])?)
        -> (lessons: [Lesson], problems: [(name: String, error: Error)]) {
        guard let translated else { return english }
        let problems = english.problems + translated.problems.map { ("\(language.rawValue)/\($0.name)", $0.error) }
        return (LessonLanguage.merge(english: english.lessons, translated: translated.lessons), problems)
    }

    /// The lessons in a directory, by number, and the files that failed to parse, each with its
    /// name (`05-why-scale`) and why; in `language`, those of its subdirectory (`zh/`) replace
    /// the English ones they translate.
    public static func load(in directory: String, language: LessonLanguage = .en) -> (lessons: [Lesson], problems: [(name: String, error: Error)]) {
        func lessons(in directory: String) -> (lessons: [Lesson], problems: [(name: String, error: Error)]) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            let files = names.filter { $0.hasSuffix(".md") && $0.first?.isNumber == true }.sorted()
            return parsed(files, name: { $0 }) { try Lesson(path: directory + "/" + $0) }
        }
        return inLanguage(language, english: lessons(in: directory),
                          translated: language.subdirectory.map { lessons(in: directory + "/" + $0) })
    }
}

/// Sets Markdown prose for a terminal: paragraphs wrapped to the width, headings underlined,
/// inline code without its backticks (bold on a colour terminal), formulas, code blocks and
/// tables kept as they are. Control characters are written as `\u{…}`: a lesson's text cannot
/// move the cursor, change colours or retitle the terminal.
public struct ProseRenderer: Sendable {
    public var width: Int
    /// Whether inline code is set in bold; otherwise it is plain text.
    public var color: Bool

    public init(width: Int, color: Bool = false) {
        self.width = width
        self.color = color
    }

    public func render(_ markdown: String) -> String {
        var out: [String] = []
        var paragraph: [String] = []
        var inFence = false
        func flush() {
            guard !paragraph.isEmpty else { return }
            let text = inlineCode(joinedParagraph(paragraph))
            // A list item keeps its marker and hangs its continuation lines.
            var indent = ""
            if let marker = text.range(of: #"^(\s*([-*]|\d+\.)\s+)"#, options: .regularExpression) {
                indent = String(repeating: " ", count: text.distance(from: text.startIndex, to: marker.upperBound))
            }
            out.append(contentsOf: wrap(text, indent: indent))
            paragraph = []
        }
        for raw in markdown.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = escapingControlCharacters(raw.replacingOccurrences(of: "\t", with: "    "))
            let trimmed = line.trimmingWhitespace()
            if trimmed.hasPrefix("```") {
                flush()
                inFence.toggle()
                continue
            }
            if inFence { out.append("    " + line); continue }
            if trimmed.isEmpty { flush(); out.append(""); continue }
            if trimmed.hasPrefix("#") {
                flush()
                let heading = inlineCode(String(trimmed.drop { $0 == "#" }).trimmingWhitespace())
                out.append(heading)
                out.append(String(repeating: trimmed.hasPrefix("# ") ? "═" : "─", count: min(width, MatrixRenderer.displayWidth(heading))))
                continue
            }
            // Formulas (indented), tables and block quotes are kept line by line.
            if line.hasPrefix("    ") || trimmed.hasPrefix("|") || trimmed.hasPrefix(">") || trimmed.hasPrefix("$$") {
                flush()
                out.append(line)
                continue
            }
            // A new list item starts a new paragraph.
            if trimmed.range(of: #"^([-*]|\d+\.)\s"#, options: .regularExpression) != nil { flush() }
            // Bold and italic markers read as noise in a terminal; code spans keep their backticks.
            let plain = Self.withoutEmphasis(paragraph.isEmpty ? line : trimmed)
            paragraph.append(plain)
        }
        flush()
        // No runs of blank lines, none at the ends.
        var result: [String] = []
        for line in out where !(line.isEmpty && (result.last?.isEmpty ?? true)) { result.append(line) }
        while result.last?.isEmpty == true { result.removeLast() }
        return result.isEmpty ? "" : result.joined(separator: "\n") + "\n"
    }

    /// Drops `**` bold markers outside code spans (inside them, `**` is the power operator).
    static func withoutEmphasis(_ text: String) -> String {
        var out = "", inCode = false
        var characters = text[...]
        while let c = characters.first {
            if c == "`" { inCode.toggle() }
            if !inCode, characters.hasPrefix("**") {
                characters = characters.dropFirst(2)
                continue
            }
            out.append(c)
            characters = characters.dropFirst()
        }
        return out
    }

    /// Code spans without their backticks, bold on a colour terminal: `` `[CLS]` `` reads [CLS].
    /// The lesson's Markdown keeps them; on GitHub they still show as code.
    func inlineCode(_ text: String) -> String {
        var out = "", inCode = false
        for c in text {
            guard c == "`" else { out.append(c); continue }
            inCode.toggle()
            if color { out += inCode ? "\u{1B}[1m" : "\u{1B}[22m" }
        }
        if inCode && color { out += "\u{1B}[22m" }
        return out
    }

    func wrap(_ text: String, indent: String) -> [String] {
        wrappedLines(text, width: width, indent: indent)
    }
}

/// The words of a text for wrapping, with a shape like `8 × 384` kept on one line.
func unbreakableWords(_ text: String) -> [String] {
    var words: [String] = []
    var glue = false
    for word in text.split(separator: " ").map(String.init) {
        if word == "×" || glue, let previous = words.popLast() {
            words.append(previous + " " + word)
            glue = word == "×"
        } else {
            words.append(word)
        }
    }
    return words
}
