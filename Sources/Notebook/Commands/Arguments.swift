/// Reading the arguments of commands: whole numbers, a layer or head selection, a sentence's
/// text, `check`'s expression and step.
enum Arguments {
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

    /// A count the learner may leave out (`predict`, `predict 10`): `default` without one, else a
    /// whole number in `range`.
    /// - Throws: `usage` for a word that is no number; out of range, with `usage` saying the range.
    static func count(_ text: String, command: String, default: Int, range: ClosedRange<Int>, usage: String) throws -> Int {
        guard !text.isEmpty else { return `default` }
        let n = try number(text, command: command, usage: usage)
        guard range.contains(n) else { throw NotebookError.numberTooLarge(command: command, text: text, usage: usage) }
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
