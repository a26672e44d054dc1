/// Reads one line of the learner's math into a statement.
///
/// The grammar is Python's, cut down to what attention needs. Precedence, loosest first:
///
/// | level | syntax                           | associativity | example                       |
/// |-------|----------------------------------|---------------|-------------------------------|
/// | 1     | `NAME = EXPR`                    | statement     | `S = Q @ K.T`                 |
/// | 2     | `<` `<=` `>` `>=` `==` `!=`      | one at a time | `A + 1 > B = (A + 1) > B`     |
/// | 3     | `+` `-`                          | left          | `A - B + C = (A - B) + C`     |
/// | 4     | `@` `*` `/`                      | left          | `Q @ K.T / 8 = (Q @ K.T) / 8` |
/// | 5     | unary `-` `+`                    | prefix        | `-A @ B = (-A) @ B`           |
/// | 6     | `**`                             | right         | `-2 ** 2 = -(2 ** 2) = -4`    |
/// | 7     | `.T` `.shape` `A[…]` `f(…)` `(…)`| postfix       | `-A.T = -(A.T)`               |
/// | 8     | `[[1, 2], [3, 4]]`  `[1, 2]`     | literal       | `[[1, 2]].T` is 2 × 1         |
///
/// As in Python, `**` binds tighter than a unary minus on its left but takes one on its right
/// (`2 ** -1 = 0.5`), and `2 ** 3 ** 2 = 2 ** 9`.
public enum MathParser {
    /// The deepest nesting of parentheses, brackets, calls, unary signs, powers and `.T`s. The
    /// parser and the evaluator recurse once per level, so an unbounded depth (10,000 `(`) would
    /// overflow the stack; no formula a learner writes comes near this.
    public static let maximumDepth = 100
    /// The most tokens in one line. A chain such as `1 + 1 + … + 1` is as deep as it is long, so
    /// this bounds the tree's height, and with it the stack, for very long lines.
    public static let maximumSymbols = 1000

    static let nestingProblem = "more than \(maximumDepth) levels of nesting: give an inner part a name first (A = …)"

    /// Parses `NAME = EXPR` or `EXPR`.
    /// - Throws: `NotebookError.math` with a sentence `syntax error at column C in 'LINE': …`, or
    ///   when a function's name is assigned to.
    public static func parse(_ line: String) throws -> MathStatement {
        // Trailing spaces change nothing, and an error "at the end" should point just past the text.
        var trimmed = Substring(line)
        while let last = trimmed.last, last == " " || last == "\t" || last == "\r" || last == "\n" { trimmed.removeLast() }
        var parser = try MathParserState(String(trimmed))
        return try parser.statement()
    }
}

/// The recursive-descent parser: one function per precedence level, each calling the next tighter.
struct MathParserState {
    let line: String
    /// `indices[k]` is the index of character `k`; `indices[count]` is the end. Nodes take their
    /// text as substrings of `line`.
    let indices: [String.Index]
    let tokens: [MathToken]
    var position = 0
    /// The current nesting; see `MathParser.maximumDepth`.
    var depth = 0

    init(_ line: String) throws {
        self.line = line
        self.indices = Array(line.indices) + [line.endIndex]
        self.tokens = try MathLexer(line).tokens()
    }

    // MARK: Statements

    /// `NAME = EXPR` | `EXPR`
    mutating func statement() throws -> MathStatement {
        if case let .name(name) = current.kind, tokens[position + 1].isSymbol("=") {
            if MathSyntax.functions.contains(name) {
                throw error(at: current, "cannot assign to '\(name)': it is the name of a function; choose another name")
            }
            advance()
            advance()
            if current.kind == .end { throw error(at: current, "expected a value after '='") }
            let value = try expression()
            try expectEnd(afterAssignment: true)
            return .assign(name, value)
        }
        if case .number = current.kind, tokens[position + 1].isSymbol("=") {
            throw error(at: current, "cannot assign to '\(tokenText(current))': it is a number; names start with a letter or _")
        }
        if current.kind == .end { throw error(at: current, "expected a value, such as Q @ K.T") }
        let value = try expression()
        try expectEnd(afterAssignment: false)
        return .evaluate(value)
    }

    /// After a whole expression only the end of the line may come.
    func expectEnd(afterAssignment: Bool) throws {
        let token = current
        switch token.kind {
        case .end:
            return
        case .symbol("="):
            throw error(at: token, afterAssignment ? "one '=' per line: write NAME = EXPR"
                                                   : "only a name can be assigned: write NAME = EXPR")
        case .symbol(")"):
            throw error(at: token, "unexpected ')': there is no '(' to close")
        case .symbol("]"):
            throw error(at: token, "unexpected ']': there is no '[' to close")
        case .symbol(":"):
            throw error(at: token, "unexpected ':': a slice goes inside brackets, e.g. A[0:3]")
        case .symbol(","):
            throw error(at: token, "unexpected ',': commas separate a function's arguments or a slice's axes")
        case .number, .name, .symbol("("):
            throw error(at: token, "unexpected '\(tokenText(token))': an operator such as @, * or + is missing before it")
        case .symbol:
            throw error(at: token, "unexpected '\(tokenText(token))'")
        }
    }

    // MARK: Expressions, loosest first

    /// `sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)?`: one comparison, not a chain.
    mutating func expression() throws -> MathExpression {
        let start = current.start
        let left = try sum()
        guard let op = binaryOperator(among: MathOperator.comparisons) else { return left }
        let symbol = current
        advance()
        let right = try operand(after: symbol) { try $0.sum() }
        if binaryOperator(among: MathOperator.comparisons) != nil {
            throw error(at: current, "one comparison at a time: (A > 0) * (A < 1) for both")
        }
        return .binary(op, left, right, text: text(from: start))
    }

    /// `product (('+' | '-') product)*`
    mutating func sum() throws -> MathExpression {
        let start = current.start
        var left = try product()
        while let op = binaryOperator(among: [.add, .subtract]) {
            let symbol = current
            advance()
            let right = try operand(after: symbol) { try $0.product() }
            left = .binary(op, left, right, text: text(from: start))
        }
        return left
    }

    /// `unary (('@' | '*' | '/') unary)*`
    mutating func product() throws -> MathExpression {
        let start = current.start
        var left = try unary()
        while let op = binaryOperator(among: [.matrixProduct, .multiply, .divide]) {
            let symbol = current
            advance()
            let right = try operand(after: symbol) { try $0.unary() }
            left = .binary(op, left, right, text: text(from: start))
        }
        return left
    }

    /// `('-' | '+') unary | power`
    mutating func unary() throws -> MathExpression {
        guard current.isSymbol("-") || current.isSymbol("+") else { return try power() }
        let start = current.start, sign = current
        try enter(sign)
        defer { leave() }
        advance()
        let operand = try operand(after: sign) { try $0.unary() }
        if sign.isSymbol("+") { return operand }  // +A is A
        return .negate(operand, text: text(from: start))
    }

    /// `postfix ('**' unary)?` — right-associative through `unary`.
    mutating func power() throws -> MathExpression {
        let start = current.start
        let base = try postfix()
        guard current.isSymbol("**") else { return base }
        let symbol = current
        try enter(symbol)
        defer { leave() }
        advance()
        let exponent = try operand(after: symbol) { try $0.unary() }
        return .binary(.power, base, exponent, text: text(from: start))
    }

    /// `primary ('.T' | '.shape' | '[' subscripts ']')*`
    mutating func postfix() throws -> MathExpression {
        let start = current.start
        var value = try primary()
        let outer = depth
        defer { depth = outer }
        while true {
            if current.isSymbol(".") {
                let dot = current
                try enter(dot)
                advance()
                if case .name("shape") = current.kind {
                    // A.shape is shape(A), as in NumPy.
                    advance()
                    value = .call("shape", [MathArgument(value: value)], text: text(from: start))
                    continue
                }
                guard case .name("T") = current.kind else {
                    let attribute = current.kind == .end ? "" : tokenText(current)
                    throw error(at: dot, "'.\(attribute)' is not known: the attributes are .T (the transpose) and .shape")
                }
                advance()
                value = .transpose(value, text: text(from: start))
            } else if current.isSymbol("[") {
                let open = current
                try enter(open)
                advance()
                let subscripts = try self.subscripts(opening: open)
                value = .index(value, subscripts, text: text(from: start))
            } else {
                return value
            }
        }
    }

    /// `NUMBER | NAME | NAME '(' arguments ')' | '(' expression ')' | '[' rows ']'`
    mutating func primary() throws -> MathExpression {
        let token = current
        switch token.kind {
        case let .number(value):
            advance()
            return .number(value, text: text(from: token.start))
        case let .name(name):
            advance()
            guard current.isSymbol("(") else { return .name(name) }
            let open = current
            try enter(open)
            defer { leave() }
            advance()
            let arguments = try self.arguments(opening: open)
            return .call(name, arguments, text: text(from: token.start))
        case .symbol("("):
            try enter(token)
            defer { leave() }
            advance()
            if current.isSymbol(")") { throw error(at: current, "expected a value inside '()'") }
            let inner = try expression()
            try expect(")", opening: token)
            return .parenthesized(inner, text: text(from: token.start))
        case .symbol("["):
            // As numpy.array: [[1, 2], [3, 4]] is 2 × 2, and [1, 2, 3] is one row (1 × 3).
            try enter(token)
            defer { leave() }
            advance()
            guard current.isSymbol("[") else {
                return .literal([try elements(opening: token)], text: text(from: token.start))
            }
            var rows: [[MathExpression]] = []
            while true {
                let open = current
                guard open.isSymbol("[") else {
                    throw error(at: open, "expected '[' to start a row: write rows as [[1, 2], [3, 4]]")
                }
                try enter(open)
                advance()
                rows.append(try elements(opening: open))
                leave()
                if current.isSymbol("[") { throw error(at: current, "expected ',' between rows: [[1, 2], [3, 4]]") }
                guard current.isSymbol(",") else { break }
                advance()
            }
            try expect("]", opening: token)
            return .literal(rows, text: text(from: token.start))
        case .end:
            throw error(at: token, "expected a value")
        default:
            throw error(at: token, "expected a value, not '\(tokenText(token))'")
        }
    }

    /// One row of a written-out matrix: `value (',' value)*` then `]`.
    mutating func elements(opening open: MathToken) throws -> [MathExpression] {
        if current.isSymbol("]") { throw error(at: current, "expected a number inside '[]': write [1, 2, 3]") }
        var values = [try expression()]
        while current.isSymbol(",") {
            let comma = current
            advance()
            values.append(try operand(after: comma) { try $0.expression() })
        }
        try expect("]", opening: open)
        return values
    }

    /// The operand after an operator, with an error that names the operator when it is missing.
    mutating func operand(after symbol: MathToken,
                          _ parse: (inout MathParserState) throws -> MathExpression) throws -> MathExpression {
        switch current.kind {
        case .end, .symbol(")"), .symbol("]"), .symbol(","), .symbol("="), .symbol(":"):
            throw error(at: current, "expected a value after '\(tokenText(symbol))'")
        default:
            return try parse(&self)
        }
    }

    // MARK: Calls and subscripts

    /// `(argument (',' argument)*)?` then `)`, where an argument is `EXPR` or `NAME = EXPR`.
    mutating func arguments(opening open: MathToken) throws -> [MathArgument] {
        var arguments: [MathArgument] = []
        if current.isSymbol(")") {
            advance()
            return arguments
        }
        while true {
            var keyword: String?
            if case let .name(name) = current.kind, tokens[position + 1].isSymbol("=") {
                keyword = name
                advance()
                advance()
            } else if arguments.contains(where: { $0.keyword != nil }) {
                throw error(at: current, "a plain argument cannot follow a named one such as axis=…")
            }
            if current.kind == .end || current.isSymbol(",") || current.isSymbol(")") {
                throw error(at: current, keyword == nil ? "expected an argument" : "expected a value after '\(keyword ?? "")='")
            }
            arguments.append(MathArgument(keyword: keyword, value: try expression()))
            if current.isSymbol(",") {
                advance()
                continue
            }
            try expect(")", opening: open)
            return arguments
        }
    }

    /// `axis (',' axis)*` then `]`, where an axis is `EXPR`, or `EXPR? ':' EXPR?`.
    mutating func subscripts(opening open: MathToken) throws -> [MathIndex] {
        var indices: [MathIndex] = []
        while true {
            if current.isSymbol("]") || current.isSymbol(",") || current.kind == .end {
                throw error(at: current, "expected an index such as 2, 0:3 or :")
            }
            let start = current.isSymbol(":") ? nil : try expression()
            if current.isSymbol(":") {
                advance()
                let end = (current.isSymbol(",") || current.isSymbol("]") || current.isSymbol(":")) ? nil : try expression()
                if current.isSymbol(":") {
                    throw error(at: current, "steps (a:b:step) are not supported: write a:b")
                }
                indices.append(.range(start, end))
            } else if let start {
                indices.append(.position(start))
            }
            if current.isSymbol(",") {
                advance()
                continue
            }
            try expect("]", opening: open)
            return indices
        }
    }

    // MARK: Tokens

    var current: MathToken { tokens[position] }

    mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    /// The binary operator at the cursor, if it is one of `operators`.
    func binaryOperator(among operators: [MathOperator]) -> MathOperator? {
        guard case let .symbol(symbol) = current.kind else { return nil }
        return operators.first { $0.rawValue == symbol }
    }

    /// Consumes the closing `)` or `]`, or says it is missing.
    mutating func expect(_ closing: String, opening: MathToken) throws {
        guard current.isSymbol(closing) else {
            if current.kind == .end { throw error(at: current, "expected '\(closing)'") }
            throw error(at: current, "expected '\(closing)' (to close the '\(tokenText(opening))' at column \(opening.start + 1)), "
                                     + "not '\(tokenText(current))'")
        }
        advance()
    }

    /// One level deeper; see `MathParser.maximumDepth`.
    mutating func enter(_ token: MathToken) throws {
        depth += 1
        if depth > MathParser.maximumDepth {
            throw error(at: token, MathParser.nestingProblem)
        }
    }

    mutating func leave() { depth -= 1 }

    /// The source from character `start` to the end of the last token consumed.
    func text(from start: Int) -> Substring {
        let end = position > 0 ? max(start, tokens[position - 1].end) : start
        return line[indices[start]..<indices[end]]
    }

    func tokenText(_ token: MathToken) -> String {
        String(line[indices[token.start]..<indices[token.end]])
    }

    func error(at token: MathToken, _ problem: String) -> NotebookError {
        MathError.syntax(line: line, column: token.start + 1, problem: problem).notebookError
    }
}
