import AttnCore

/// The notebook's grammar: one command per line, `#` starts a comment.
///
/// ```
/// model minilm [PATH]         sentence TEXT | sentence "…"      layer N      head N
/// tokens   STEP (embeddings, x, q, k, v, scores, scaled, masked, weights, z, attn_out, out, …)
/// export STEP PATH            export tokens PATH                precision N
/// STEP all                    export STEP all PATH.npy          export NAME PATH   export STEP[rows, cols] PATH
/// help [TOPIC]                quit
/// heads [all]   neuron I J   rollout   ablate head L H | ablate clear   importance
/// plot STEP PATH.svg          save transcript PATH.md
/// ```
public enum Command: Equatable, Sendable {
    case nothing
    case model(name: String, path: String?)
    case sentence(String)
    case layer(Selection)
    case head(Selection)
    case tokens
    case show(Step, rows: Slice?, columns: Slice?)
    case walk
    case export(what: String, path: String)
    /// `export STEP all PATH.npy`: the step of every layer (and head) as one array.
    case exportAll(Step, path: String)
    /// `STEP all`: every layer and head of a step at once, as an overview that fits the width.
    case showAll(Step)
    case precision(Int)
    case help(String?)
    case lessons
    case lesson(String)
    case lessonStop
    case next
    case back
    case whereAmI
    case hint
    case skip
    case check(expression: String, step: String)
    case names
    case predict(Int)
    case temperature(Float)
    case generate(Int)
    case rope(Int?)
    case keyValueMap
    case heads(allLayers: Bool)
    case neuron(query: Int, key: Int)
    case rollout
    case ablate(layer: Int, head: Int)
    case ablateClear
    case importance
    case plot(what: String, path: String)
    case saveTranscript(path: String)
    case quit
    /// `del NAME …`: forgets names the learner bound.
    case delete([String])
    case sample(Int)
    case greedy(Int)
    case topK(Int?)
    case topP(Double?)
    case seed(UInt64)
    case chat(String)
    case sentenceGenerated

    /// Every command word, for `help` and suggestions.
    public static let words = ["model", "sentence", "layer", "head", "tokens", "show", "walk", "export", "precision",
                               "lessons", "lesson", "next", "back", "where", "hint", "skip", "check", "names",
                               "predict", "temperature", "generate", "rope", "kvmap", "help", "quit", "exit",
                               "heads", "neuron", "rollout", "ablate", "importance", "plot", "save", "del",
                               "sample", "greedy", "top-k", "top-p", "seed", "chat"]
        + StepInfo.names

    /// Whether the command moves through lessons (or leaves the notebook): the learner's to type,
    /// never a lesson block's, which would run blocks itself.
    public var movesThroughLessons: Bool {
        switch self {
        case .lesson, .lessonStop, .next, .back, .whereAmI, .hint, .skip, .quit: true
        default: false
        }
    }

    /// `check`'s arguments as (expression, step): the step is the last word, and a slice after it
    /// (`z[1]`, `scores[3, 2]`) belongs to it even when it holds spaces.
    static func splitCheck(_ rest: String) -> (expression: String, step: String) {
        var end = rest.endIndex
        if rest.hasSuffix("]") {
            // Back to the "[" that opens the final "]".
            var depth = 0
            var i = rest.endIndex
            while i > rest.startIndex {
                i = rest.index(before: i)
                if rest[i] == "]" { depth += 1 }
                if rest[i] == "[" { depth -= 1 }
                if depth == 0 { break }
            }
            end = i
        }
        guard let space = rest[..<end].lastIndex(where: { $0 == " " || $0 == "\t" }) else { return ("", "") }
        return (String(rest[..<space]).trimmingWhitespace(), String(rest[rest.index(after: space)...]))
    }

    /// Parses one line.
    /// - Throws: `NotebookError` naming what is wrong and what would be right.
    public static func parse(_ line: String) throws -> Command {
        let trimmed = line.trimmingWhitespace()
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return .nothing }
        let (word, rest) = trimmed.splitFirstWord()
        switch word {
        case "model":
            let parts = rest.split(separator: " ", maxSplits: 1).map(String.init)
            guard let name = parts.first else { throw NotebookError.usage(command: "model", usage: "model minilm [PATH]") }
            return .model(name: name, path: parts.count > 1 ? parts[1].trimmingWhitespace() : nil)
        case "sentence":
            if rest == "+" || rest == "+generated" { return .sentenceGenerated }
            return .sentence(try sentenceText(rest))
        case "layer":
            return .layer(try selection(rest, command: "layer"))
        case "head":
            return .head(try selection(rest, command: "head"))
        case "tokens":
            return .tokens
        case "show":
            guard !rest.isEmpty else { throw NotebookError.usage(command: "show", usage: "show STEP or show STEP[rows, columns], e.g. show q[0:4, 0:8]") }
            if case let (name, "all") = rest.splitFirstWord(), let step = Step(rawValue: name) { return .showAll(step) }
            return try showCommand(rest)
        case "walk":
            return .walk
        case "export":
            return try exportCommand(rest)
        case "precision":
            let n = try number(rest, command: "precision", usage: "precision N, 0 ≤ N ≤ 8 digits after the point")
            guard (0...8).contains(n) else { throw NotebookError.precisionOutOfRange(n) }
            return .precision(n)
        case "help", "?":
            return .help(rest.isEmpty ? nil : rest)
        case "quit", "exit":
            return .quit
        case "lessons":
            return .lessons
        case "lesson":
            guard !rest.isEmpty else { throw NotebookError.usage(command: "lesson", usage: "lesson N or lesson NAME (lessons lists them), lesson stop") }
            return rest == "stop" ? .lessonStop : .lesson(rest)
        case "next": return .next
        case "back": return .back
        case "where": return .whereAmI
        case "hint": return .hint
        case "skip": return .skip
        case "names": return .names
        case "del":
            if rest.hasPrefix("=") {
                throw NotebookError.math("del is a command (del NAME forgets a name you bound): choose another name, e.g. my_del")
            }
            let names = rest.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
            guard !names.isEmpty else { throw NotebookError.usage(command: "del", usage: "del NAME …, e.g. del A B (names lists yours)") }
            return .delete(names)
        case "predict":
            let k = rest.isEmpty ? 5 : try number(rest, command: "predict", usage: "predict [K] with 1 ≤ K ≤ 100")
            guard (1...100).contains(k) else { throw NotebookError.numberTooLarge(command: "predict", text: rest, usage: "predict [K] with 1 ≤ K ≤ 100") }
            return .predict(k)
        case "temperature":
            guard let value = Float(rest) else {
                throw NotebookError.usage(command: "temperature", usage: "temperature X with 0 ≤ X ≤ 100, e.g. temperature 0.7 (0: the argmax)")
            }
            return .temperature(value)
        case "generate":
            let n = try number(rest, command: "generate", usage: "generate N with 1 ≤ N ≤ 1000 (new tokens, greedy)")
            guard (1...1000).contains(n) else { throw NotebookError.numberTooLarge(command: "generate", text: rest, usage: "generate N with 1 ≤ N ≤ 1000") }
            return .generate(n)
        case "rope":
            return .rope(rest.isEmpty ? nil : try number(rest, command: "rope", usage: "rope [PAIR]"))
        case "kvmap": return .keyValueMap
        case "sample", "greedy", "top-k", "top-p", "seed", "chat":
            return try decodingCommand(word, rest)
        case "heads", "neuron", "rollout", "ablate", "importance", "plot", "save":
            return try interpretabilityCommand(word, rest)
        case "check":
            // check EXPR STEP: the step is the last word, perhaps with a slice: z[1], scores[3, 2].
            let usage = "check EXPR STEP, e.g. check softmax(Q @ K.T / sqrt(dk)) weights"
            let (expression, step) = splitCheck(rest)
            guard !expression.isEmpty, !step.isEmpty else { throw NotebookError.usage(command: "check", usage: usage) }
            let name = String(step.prefix { $0 != "[" })
            guard Step(rawValue: name) != nil else {
                throw NotebookError.unknownStep(name, suggestion: closest(to: name, in: StepInfo.names))
            }
            return .check(expression: expression, step: step)
        default:
            if let step = Step(rawValue: word), rest.isEmpty {
                return .show(step, rows: nil, columns: nil)
            }
            if let step = Step(rawValue: word), rest == "all" { return .showAll(step) }
            // `weights[2, :]` shows a slice of a step; `weights[5, 1]` is one number, for the math.
            if word.contains("["), let command = try? showCommand(trimmed) {
                if case let .show(_, rows?, columns?) = command, rows.single, columns.single {
                    throw NotebookError.unknownCommand(word, suggestion: nil)
                }
                return command
            }
            throw NotebookError.unknownCommand(word, suggestion: closest(to: word, in: words))
        }
    }

    /// `export WHAT PATH` and `export STEP all PATH`. WHAT is a step, `tokens`, `rollout`, a name of
    /// the math (`R`, `W_Q`) or a slice of one (`weights[2, :]`, whose brackets may hold spaces);
    /// the path is the rest of the line.
    static func exportCommand(_ rest: String) throws -> Command {
        let usage = "export STEP PATH, e.g. export weights w.npy; export STEP all PATH.npy; export NAME PATH"
        var end = rest.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? rest.endIndex
        if let open = rest.firstIndex(of: "["), open < end {
            var depth = 0
            var i = open
            while i < rest.endIndex {
                if rest[i] == "[" { depth += 1 }
                if rest[i] == "]" { depth -= 1 }
                i = rest.index(after: i)
                if depth == 0 { break }
            }
            end = i
        }
        let what = String(rest[..<end]), path = String(rest[end...]).trimmingWhitespace()
        guard !what.isEmpty, !path.isEmpty else { throw NotebookError.usage(command: "export", usage: usage) }
        if case let ("all", allPath) = path.splitFirstWord(), let step = Step(rawValue: what) {
            guard !allPath.isEmpty else { throw NotebookError.usage(command: "export", usage: "export \(what) all PATH.npy") }
            return .exportAll(step, path: allPath)
        }
        let name = String(what.prefix { $0 != "[" })
        guard what == "tokens" || what == "rollout" || Step(rawValue: what) != nil || MathSyntax.isName(name) else {
            throw NotebookError.unknownStep(what, suggestion: closest(to: what, in: ["tokens", "rollout"] + StepInfo.names))
        }
        return .export(what: what, path: path)
    }

    /// `STEP`, `STEP[r]`, `STEP[r, c]` where each of r, c is `i`, `a:b`, `a:`, `:b` or `:`.
    static func showCommand(_ text: String) throws -> Command {
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
        guard let inside else { return .show(step, rows: nil, columns: nil) }
        let parts = inside.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
        guard parts.count <= 2 else { throw NotebookError.math("show \(text): a matrix has two axes, give at most [rows, columns]") }
        let rows = try Slice(parts[0], text: text)
        let columns = parts.count == 2 ? try Slice(parts[1], text: text) : nil
        return .show(step, rows: rows, columns: columns)
    }

    /// `N` selects a layer or head; `+N` and `-N` move from the current one.
    static func selection(_ text: String, command: String) throws -> Selection {
        let usage = "\(command) N, or \(command) +1 / \(command) -1 to move"
        if text.hasPrefix("+") || text.hasPrefix("-") {
            return .relative(try number(text, command: command, usage: usage))
        }
        return .absolute(try number(text, command: command, usage: usage))
    }

    /// A whole number the learner typed. Digits beyond `Int` (`layer 99999999999999999999`) are
    /// a number too large for any command, not a word that is no number.
    static func number(_ text: String, command: String, usage: String) throws -> Int {
        guard !text.isEmpty else { throw NotebookError.usage(command: command, usage: usage) }
        guard let n = Int(text) else {
            let digits = text.first == "+" || text.first == "-" ? text.dropFirst() : Substring(text)
            if !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) {
                throw NotebookError.numberTooLarge(command: command, text: text, usage: usage)
            }
            throw NotebookError.notANumber(command: command, text: text)
        }
        return n
    }

    /// The text of `sentence`: the rest of the line as it is, or a quoted string with escapes
    /// `\n \t \r \" \\`.
    static func sentenceText(_ rest: String) throws -> String {
        guard rest.hasPrefix("\"") else {
            guard !rest.isEmpty else { throw NotebookError.emptySentence }
            return rest
        }
        var out = ""
        var iterator = rest.dropFirst().makeIterator()
        while let c = iterator.next() {
            switch c {
            case "\"":
                let after = String(iterator.map { $0 }).trimmingWhitespace()
                guard after.isEmpty || after.hasPrefix("#") else { throw NotebookError.textAfterQuote(after) }
                return out
            case "\\":
                guard let e = iterator.next() else { throw NotebookError.unterminatedQuote }
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                default: throw NotebookError.badEscape("\\\(e)")
                }
            default:
                out.append(c)
            }
        }
        throw NotebookError.unterminatedQuote
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line ends.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }

    /// The first word and the rest, trimmed.
    func splitFirstWord() -> (String, String) {
        guard let space = firstIndex(where: { $0 == " " || $0 == "\t" }) else { return (self, "") }
        return (String(self[..<space]), String(self[space...]).trimmingWhitespace())
    }
}

/// One axis of a slice, as in NumPy: `i` (one index), `a:b`, `a:`, `:b`, `:`; negative counts from the end.
public struct Slice: Equatable, Sendable {
    public var start: Int?
    public var end: Int?
    public var single: Bool

    init(_ spec: String, text: String) throws {
        func index(_ s: Substring) throws -> Int? {
            let t = s.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { return nil }
            guard let n = Int(t) else { throw NotebookError.math("show \(text): '\(t)' is not an index") }
            return n
        }
        if let colon = spec.firstIndex(of: ":") {
            start = try index(spec[..<colon])
            end = try index(spec[spec.index(after: colon)...])
            single = false
        } else {
            guard let i = try index(spec[...]) else { throw NotebookError.math("show \(text): an empty index") }
            start = i
            end = nil
            single = true
        }
    }

    /// The concrete range within `count`, or an error naming the axis size.
    public func range(in count: Int, axis: String) throws -> Range<Int> {
        func resolve(_ i: Int) -> Int { i < 0 ? count + i : i }
        if single {
            let i = resolve(start ?? 0)
            guard (0..<count).contains(i) else {
                throw NotebookError.math("index \(start ?? 0) is out of range: the \(axis) are 0…\(count - 1)")
            }
            return i..<(i + 1)
        }
        let lower = min(max(resolve(start ?? 0), 0), count)
        let upper = min(max(resolve(end ?? count), 0), count)
        guard lower < upper else { throw NotebookError.math("the slice \(start.map(String.init) ?? ""):\(end.map(String.init) ?? "") of \(count) \(axis) is empty") }
        return lower..<upper
    }
}

/// Which layer or head: a number, or a move from the current one.
public enum Selection: Equatable, Sendable {
    case absolute(Int)
    case relative(Int)

    /// The index this selects, given the current one. A move past the ends of `Int` stops there
    /// (`layer +9223372036854775807` selects 9223372036854775807, which no model has) rather than
    /// overflowing.
    public func resolve(from current: Int) -> Int {
        switch self {
        case let .absolute(n):
            return n
        case let .relative(delta):
            let (sum, overflow) = current.addingReportingOverflow(delta)
            return overflow ? (delta > 0 ? .max : .min) : sum
        }
    }
}

extension Command {
    /// How the decoder writes: `sample N`, `greedy N`, `top-k K`, `top-p P`, `seed N`, `chat TEXT`.
    static func decodingCommand(_ word: String, _ rest: String) throws -> Command {
        func count(_ usage: String) throws -> Int {
            let n = try number(rest, command: word, usage: usage)
            guard (1...1000).contains(n) else { throw NotebookError.usage(command: word, usage: "\(word) N with 1 ≤ N ≤ 1000") }
            return n
        }
        switch word {
        case "sample":
            return .sample(try count("sample N (new tokens, drawn from softmax(logits / temperature))"))
        case "greedy":
            return .greedy(try count("greedy N (new tokens, each the argmax of the logits)"))
        case "top-k":
            let usage = "top-k K with 1 ≤ K ≤ 100000, or top-k off"
            if rest == "off" { return .topK(nil) }
            let k = try number(rest, command: word, usage: usage)
            guard (0...100_000).contains(k) else { throw NotebookError.usage(command: word, usage: usage) }
            return .topK(k == 0 ? nil : k)
        case "top-p":
            let usage = "top-p P with 0 < P ≤ 1, e.g. top-p 0.9, or top-p off"
            if rest == "off" { return .topP(nil) }
            guard !rest.isEmpty else { throw NotebookError.usage(command: word, usage: usage) }
            guard let p = Double(rest), p > 0, p <= 1 else { throw NotebookError.usage(command: word, usage: usage) }
            return .topP(p == 1 ? nil : p)
        case "seed":
            guard !rest.isEmpty else { throw NotebookError.usage(command: word, usage: "seed N, a whole number 0…\(UInt64.max)") }
            guard let seed = UInt64(rest) else { throw NotebookError.notANumber(command: word, text: rest) }
            return .seed(seed)
        default:  // chat
            guard !rest.isEmpty else { throw NotebookError.usage(command: word, usage: "chat TEXT (or chat \"…\" with escapes), e.g. chat What is the capital of France?") }
            return .chat(try sentenceText(rest))
        }
    }
}
