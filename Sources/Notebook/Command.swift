import AttnCore

/// The notebook's grammar: one command per line, `#` starts a comment.
///
/// ```
/// model minilm [PATH]         sentence TEXT | sentence "…"      layer N      head N
/// tokens   STEP (embeddings, x, q, k, v, scores, scaled, masked, weights, z, attn_out, out, …)
/// export STEP PATH            export tokens PATH                precision N
/// help [TOPIC]                quit
/// ```
public enum Command: Equatable, Sendable {
    case nothing
    case model(name: String, path: String?)
    case sentence(String)
    case layer(Int)
    case head(Int)
    case tokens
    case show(Step)
    case export(what: String, path: String)
    case precision(Int)
    case help(String?)
    case quit

    /// Every command word, for `help` and suggestions.
    public static let words = ["model", "sentence", "layer", "head", "tokens", "export", "precision", "help", "quit", "exit"]
        + StepInfo.names

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
            return .sentence(try sentenceText(rest))
        case "layer":
            return .layer(try number(rest, command: "layer", usage: "layer N"))
        case "head":
            return .head(try number(rest, command: "head", usage: "head N"))
        case "tokens":
            return .tokens
        case "export":
            let parts = rest.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw NotebookError.usage(command: "export", usage: "export STEP PATH, e.g. export weights w.npy") }
            let what = parts[0]
            guard what == "tokens" || Step(rawValue: what) != nil else {
                throw NotebookError.unknownStep(what, suggestion: closest(to: what, in: ["tokens"] + StepInfo.names))
            }
            return .export(what: what, path: parts[1].trimmingWhitespace())
        case "precision":
            let n = try number(rest, command: "precision", usage: "precision N (digits after the point)")
            guard (0...8).contains(n) else { throw NotebookError.precisionOutOfRange(n) }
            return .precision(n)
        case "help", "?":
            return .help(rest.isEmpty ? nil : rest)
        case "quit", "exit":
            return .quit
        default:
            if let step = Step(rawValue: word) {
                guard rest.isEmpty else { throw NotebookError.usage(command: word, usage: "\(word) takes no arguments") }
                return .show(step)
            }
            throw NotebookError.unknownCommand(word, suggestion: closest(to: word, in: words))
        }
    }

    static func number(_ text: String, command: String, usage: String) throws -> Int {
        guard !text.isEmpty else { throw NotebookError.usage(command: command, usage: usage) }
        guard let n = Int(text) else { throw NotebookError.notANumber(command: command, text: text) }
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
