import Foundation

/// `attn lint`: checks lessons the way the test suite checks attn's own, so that a teacher's
/// lesson is held to the same standard.
///
/// ```
/// every block runs                      (the replay stops at the first failing line)
/// every exercise's solution             ends with a passing `check … STEP`, obeys its own
///                                       # forbid: and # require:, and does not read STEP itself
/// every # forbid: / # require: name     is a function, a model's name, a step or a name the
///                                       lesson binds
/// the lesson sets up its model          a lesson that selects a model does so in its first block
/// every number the prose quotes         with four or more decimals is one a replay prints, up to
///                                       one unit of its last digit (what rounding on another CPU allows)
/// ```
public enum LessonLint {
    /// One problem, at a line of a lesson file.
    public struct Problem: CustomStringConvertible, Sendable {
        public let file: String
        public let line: Int
        public let message: String
        public var description: String { "\(file):\(line): \(escapingControlCharacters(message))" }
    }

    /// Lints `lessons`, each replayed in its own session from `makeSession`. Numbers quoted in
    /// one lesson may come from the replay of another of them (a lesson refers back).
    public static func check(_ lessons: [Lesson], makeSession: () -> Session) -> [Problem] {
        var problems: [Problem] = []
        var printed: [Double] = []
        for lesson in lessons {
            problems += structure(of: lesson)
            let session = makeSession()
            var output = ""
            do {
                try Runner.replay(session, lesson: lesson, commandOutput: { output += $0 }) { _ in }
            } catch {
                problems.append(Problem(file: error.file, line: error.line, message: "\(error.error)"))
            }
            printed += numbers(in: output)
        }
        printed.sort()
        for lesson in lessons { problems += quotedNumbers(of: lesson, printed: printed) }
        return problems
    }

    /// What can be checked without running the lesson: its model set-up, its directives, and
    /// solutions that read their own answer.
    static func structure(of lesson: Lesson) -> [Problem] {
        var problems: [Problem] = []
        let commands = lesson.blocks.flatMap(\.commands)
        let modelLines = commands.filter { Commands.command($0.text) is ModelCommand }
        if let first = modelLines.first,
           !(lesson.blocks.first?.commands.contains { Commands.command($0.text) is ModelCommand } ?? false) {
            problems.append(Problem(file: lesson.path, line: first.line, message:
                "the lesson selects its model only here: select it in the first block, so that the lesson sets it up when it starts or resumes"))
        }
        let bound = Set(commands.compactMap { command -> String? in
            if case let .assign(name, _)? = try? MathParser.parse(command.text) { return name }
            return nil
        })
        for block in lesson.blocks {
            for word in block.forbidden + block.required
            where MathSyntax.function(named: word) == nil && !Session.boundNames.contains(word)
                && !Session.explanationNames.contains(word)
                && !StepInfo.names.contains(word) && !bound.contains(word) {
                problems.append(Problem(file: lesson.path, line: block.line, message:
                    "# forbid: or # require: names \(word), which is no function, model name, step or name the lesson binds"))
            }
            guard let step = block.exercise, let last = block.commands.last,
                  let check = Commands.command(last.text) as? CheckCommand,
                  case let .evaluate(expression)? = try? MathParser.parse(check.expression) else { continue }
            let answer = Set([step] + (Session.stepAliases[step].map { [$0] } ?? []))
            if !expression.names.isDisjoint(with: answer) {
                problems.append(Problem(file: lesson.path, line: last.line, message:
                    "the exercise's solution reads \(step), the answer itself: build it from the names before it"))
            }
        }
        return problems
    }

    /// The prose's numbers with four or more decimals that no replay printed.
    static func quotedNumbers(of lesson: Lesson, printed: [Double]) -> [Problem] {
        var problems: [Problem] = []
        let proses = lesson.blocks.map { ($0.prose, $0.line) } + [(lesson.closing, lesson.blocks.last?.line ?? 1)]
        for (prose, line) in proses {
            // Unicode minus and inline code marks around numbers read as plain numbers.
            let plain = prose.replacingOccurrences(of: "−", with: "-").replacingOccurrences(of: "`", with: " ")
            for piece in NumericText.pieces(plain.replacingOccurrences(of: "\n", with: " ")) {
                guard case let .number(n) = piece, let dot = n.firstIndex(of: "."),
                      n[n.index(after: dot)...].count >= 4, !n.lowercased().contains("e"), let x = Double(n) else { continue }
                let unit = NumericText.unit(n)
                if !contains(printed, abs(x), within: unit * 1.000001) {
                    problems.append(Problem(file: lesson.path, line: line, message:
                        "the prose before this block quotes \(n), which no command of the lessons prints"))
                }
            }
        }
        return problems
    }

    /// The absolute value of every number in `text`.
    static func numbers(in text: String) -> [Double] {
        NumericText.pieces(text.replacingOccurrences(of: "\n", with: " ")).compactMap { piece in
            guard case let .number(n) = piece, let x = Double(n) else { return nil }
            return abs(x)
        }
    }

    /// Whether sorted `values` hold one within `tolerance` of `x` (a binary search).
    static func contains(_ values: [Double], _ x: Double, within tolerance: Double) -> Bool {
        var low = 0, high = values.count
        while low < high {
            let middle = (low + high) / 2
            if values[middle] < x - tolerance { low = middle + 1 } else { high = middle }
        }
        return low < values.count && values[low] <= x + tolerance
    }
}
