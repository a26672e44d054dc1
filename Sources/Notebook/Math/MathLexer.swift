/// One symbol of the learner's math, with where it stands in the line.
struct MathToken: Equatable {
    enum Kind: Equatable {
        /// A number literal, already read: `0.5`, `1e-3`, `inf`, `nan`.
        case number(Float)
        /// A name: `[A-Za-z_][A-Za-z0-9_]*`.
        case name(String)
        /// An operator or punctuation: `+ - * ** / @ ( ) [ ] , : = == .`
        case symbol(String)
        /// The end of the line (or a `#` comment).
        case end
    }

    let kind: Kind
    /// The offset of the first character, counting characters from 0.
    let start: Int
    /// One past the offset of the last character.
    let end: Int

    func isSymbol(_ symbol: String) -> Bool { kind == .symbol(symbol) }
}

/// Splits a line into tokens. A `#` starts a comment, as in the notebook's commands.
///
/// Numbers are read as Python reads them (`1`, `0.5`, `.5`, `1.`, `1e-3`, `2.5E+4`); a digit
/// followed by letters (`2x`) is an error rather than a number and a name, because a name can
/// never start with a digit.
struct MathLexer {
    /// Characters a learner may type from a textbook, with what the notebook's math writes instead.
    static let textbookSymbols: [Character: String] = [
        "·": "write @ for the matrix product (or * for element-wise)",
        "×": "write @ for the matrix product (or * for element-wise)",
        "ᵀ": "write .T for the transpose, e.g. K.T",
        "√": "write sqrt(…), e.g. sqrt(dk)",
        "^": "write ** for a power, e.g. A ** 2",
        "−": "type the ASCII minus sign -",
        "÷": "write / to divide",
        "∞": "write inf",
    ]

    let line: String
    let characters: [Character]

    init(_ line: String) {
        self.line = line
        self.characters = Array(line)
    }

    /// All tokens, ending with `.end`.
    /// - Throws: `MathError.syntax` for a character or literal the language does not have, or for
    ///   more than `MathParser.maximumSymbols` tokens.
    func tokens() throws -> [MathToken] {
        var tokens: [MathToken] = []
        var openBrackets = 0  // checked here too, so that 10,000 '(' are reported as nesting
        var i = 0
        while i < characters.count {
            let c = characters[i]
            if c == "#" { break }
            if c == " " || c == "\t" || c == "\r" || c == "\n" {
                i += 1
                continue
            }
            guard tokens.count < MathParser.maximumSymbols else {
                throw error(at: i, "more than \(MathParser.maximumSymbols) symbols in one line: split it into named steps (A = …)")
            }
            let start = i
            if c.isASCIIDigit || (c == "." && i + 1 < characters.count && characters[i + 1].isASCIIDigit) {
                let (value, end) = try number(at: i)
                tokens.append(MathToken(kind: .number(value), start: start, end: end))
                i = end
            } else if c.isNameStart {
                while i < characters.count && characters[i].isNameCharacter { i += 1 }
                let name = String(characters[start..<i])
                let kind: MathToken.Kind = name == "inf" ? .number(.infinity) : name == "nan" ? .number(.nan) : .name(name)
                tokens.append(MathToken(kind: kind, start: start, end: i))
            } else if let symbol = symbol(at: i) {
                if symbol == "(" || symbol == "[" { openBrackets += 1 }
                if symbol == ")" || symbol == "]" { openBrackets -= 1 }
                if openBrackets > MathParser.maximumDepth { throw error(at: i, MathParser.nestingProblem) }
                i += symbol.count
                tokens.append(MathToken(kind: .symbol(symbol), start: start, end: i))
            } else if let hint = Self.textbookSymbols[c] {
                throw error(at: i, "unexpected '\(c)': \(hint)")
            } else {
                throw error(at: i, "unexpected '\(c)': names use the letters A–Z and a–z, the digits 0–9 and _")
            }
        }
        // The end stands just after the last token, before any spaces or comment.
        let end = tokens.last?.end ?? 0
        tokens.append(MathToken(kind: .end, start: end, end: end))
        return tokens
    }

    /// The operator or punctuation at `i`, longest first (`**` before `*`).
    func symbol(at i: Int) -> String? {
        let two = i + 1 < characters.count ? String(characters[i...(i + 1)]) : ""
        if ["**", "==", "!=", "<=", ">="].contains(two) { return two }
        let one = characters[i]
        return "+-*/@()[],:=.<>".contains(one) ? String(one) : nil
    }

    /// A number literal starting at `i`, and the offset after it.
    func number(at start: Int) throws -> (Float, Int) {
        var i = start
        func digits() { while i < characters.count && characters[i].isASCIIDigit { i += 1 } }
        func peek(_ offset: Int = 0) -> Character? { i + offset < characters.count ? characters[i + offset] : nil }
        func isExponentAhead(after offset: Int) -> Bool {
            guard let e = peek(offset), e == "e" || e == "E" else { return false }
            if let d = peek(offset + 1), d.isASCIIDigit { return true }
            if let sign = peek(offset + 1), sign == "+" || sign == "-", let d = peek(offset + 2), d.isASCIIDigit { return true }
            return false
        }
        digits()
        if peek() == "." {
            // `1.5`, `1.` and `1.e3` are numbers; in `1.T` the point belongs to the `.T` after it.
            if let next = peek(1), next.isASCIIDigit {
                i += 1
                digits()
            } else if isExponentAhead(after: 1) || !(peek(1)?.isNameStart ?? false) {
                i += 1
            }
        }
        if isExponentAhead(after: 0) {
            i += 1
            if peek() == "+" || peek() == "-" { i += 1 }
            digits()
        }
        if let next = peek(), next.isNameCharacter {
            // `2x`, `1e`, `3_000`: letters glued to a number.
            var j = i
            while j < characters.count && characters[j].isNameCharacter { j += 1 }
            let word = String(characters[start..<j])
            if next == "e" || next == "E" {
                throw error(at: start, "'\(word)' is not a number: an exponent needs digits, e.g. 1e-3")
            }
            throw error(at: start, "'\(word)' is not a name: names start with a letter or _, not a digit")
        }
        let text = String(characters[start..<i])
        guard let value = Float(text) else { throw error(at: start, "'\(text)' is not a number") }
        // Digits past the largest Float would silently read as infinity.
        guard value.isFinite else {
            throw error(at: start, "'\(text)' is beyond the numbers the math holds (±3.4e38); write inf for infinity")
        }
        return (value, i)
    }

    func error(at offset: Int, _ problem: String) -> NotebookError {
        MathError.syntax(line: line, column: offset + 1, problem: problem).notebookError
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isNameStart: Bool { (isASCII && isLetter) || self == "_" }
    var isNameCharacter: Bool { isNameStart || isASCIIDigit }
}
