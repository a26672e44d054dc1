/// A model's chat template — the Jinja text its tokenizer carries (`tokenizer.chat_template` in
/// GGUF) — read far enough to render the templates of small chat models.
///
/// SmolLM2-Instruct's, as stored in its GGUF file:
/// ```
/// {% for message in messages %}
///   {% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n…<|im_end|>\n' }}{% endif %}
///   {{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}
/// {% endfor %}
/// {% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
/// ```
/// renders one user message as
/// ```
/// <|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n
/// <|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n
/// ```
///
/// What is read: text; `{{ expr }}`; `{% for x in expr %}…{% endfor %}` with `loop.first`,
/// `loop.last`, `loop.index`, `loop.index0`; `{% if %}…{% elif %}…{% else %}…{% endif %}`;
/// string and integer literals, names, `x['key']`, `x[0]`, `x.key`, `+`, `==`, `!=`, `and`, `or`,
/// `not`, parentheses; `{%-`/`-%}` and Hugging Face's `trim_blocks` and `lstrip_blocks`. Anything
/// else — filters, calls such as `raise_exception(…)`, `set`, macros — is refused with
/// `.chatTemplateUnsupported` naming it, rather than rendered wrongly.
public struct ChatTemplate: Sendable {
    /// One turn of a conversation.
    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// The template as the model stores it.
    public let source: String
    private let nodes: [Node]

    /// Parses a template.
    /// - Throws: `.chatTemplateUnsupported` naming the first construct it does not read.
    public init(_ source: String) throws {
        self.source = source
        var parser = TemplateParser(segments: try Self.segments(source))
        nodes = try parser.nodes(until: [])
    }

    /// The text the model reads for `messages`; with `addGenerationPrompt`, ending where the
    /// assistant's answer starts.
    /// - Throws: `.chatTemplateUnsupported` for a name, subscript or operation it cannot evaluate.
    public func render(_ messages: [Message], addGenerationPrompt: Bool) throws -> String {
        let list = TemplateValue.list(messages.map { .dictionary(["role": .string($0.role), "content": .string($0.content)]) })
        var scope: [String: TemplateValue] = ["messages": list, "add_generation_prompt": .bool(addGenerationPrompt)]
        var out = ""
        try Self.render(nodes, scope: &scope, into: &out)
        return out
    }

    // MARK: - Rendering

    private static func render(_ nodes: [Node], scope: inout [String: TemplateValue], into out: inout String) throws {
        for node in nodes {
            switch node {
            case let .text(text):
                out += text
            case let .output(expression):
                out += try expression.evaluate(scope).text
            case let .loop(variable, sequence, body):
                guard case let .list(items) = try sequence.evaluate(scope) else {
                    throw unsupported("a for loop over something other than a list")
                }
                let saved = (scope[variable], scope["loop"])
                for (index, item) in items.enumerated() {
                    scope[variable] = item
                    scope["loop"] = .dictionary(["first": .bool(index == 0), "last": .bool(index == items.count - 1),
                                                 "index0": .int(index), "index": .int(index + 1)])
                    try render(body, scope: &scope, into: &out)
                }
                (scope[variable], scope["loop"]) = saved
            case let .branches(branches, otherwise):
                var taken = false
                for (condition, body) in branches {
                    guard try condition.evaluate(scope).isTrue else { continue }
                    try render(body, scope: &scope, into: &out)
                    taken = true
                    break
                }
                if !taken { try render(otherwise, scope: &scope, into: &out) }
            }
        }
    }

    static func unsupported(_ what: String) -> AttnError { .chatTemplateUnsupported(reason: what) }

    // MARK: - Cutting the text into text, {{ … }} and {% … %}

    /// Text, `{{ … }}` and `{% … %}` in order; comments dropped; whitespace control applied.
    static func segments(_ source: String) throws -> [Segment] {
        var segments: [Segment] = []
        var rest = Substring(source)
        var trimNext = false      // `-%}`/`-}}` before: strip the whitespace that starts the next text
        var afterBlock = false    // trim_blocks: the first line end after `%}` goes
        while !rest.isEmpty {
            let open = rest.range(of: "{{").map { ($0, "}}") }
            let block = rest.range(of: "{%").map { ($0, "%}") }
            let comment = rest.range(of: "{#").map { ($0, "#}") }
            let first = [open, block, comment].compactMap { $0 }.min { $0.0.lowerBound < $1.0.lowerBound }
            var text = String(rest[..<(first?.0.lowerBound ?? rest.endIndex)])
            if trimNext { text = String(text.drop { $0.isWhitespace }) }
            else if afterBlock, text.hasPrefix("\n") { text.removeFirst() }
            guard let (start, closer) = first else {
                if !text.isEmpty { segments.append(.text(text)) }
                break
            }
            var inside = rest[start.upperBound...]
            guard let end = inside.range(of: closer) else {
                throw unsupported("a tag opened with \(rest[start]) is never closed")
            }
            inside = inside[..<end.lowerBound]
            let isBlock = closer == "%}"
            if inside.hasPrefix("-") {
                inside = inside.dropFirst()
                text = String(text.reversed().drop { $0.isWhitespace }.reversed())
            } else if isBlock, let lineStart = text.lastIndex(of: "\n").map({ text.index(after: $0) })
                        ?? (rest.startIndex == source.startIndex ? text.startIndex : nil),
                      text[lineStart...].allSatisfy({ $0 == " " || $0 == "\t" }) {
                text = String(text[..<lineStart])  // lstrip_blocks
            }
            trimNext = inside.hasSuffix("-")
            if trimNext { inside = inside.dropLast() }
            afterBlock = isBlock
            if !text.isEmpty { segments.append(.text(text)) }
            let body = String(inside).trimmingCharacters(in: .whitespacesAndNewlines)
            switch closer {
            case "}}": segments.append(.output(body))
            case "%}": segments.append(.statement(body))
            default: break
            }
            rest = rest[end.upperBound...]
        }
        return segments
    }

    enum Segment {
        case text(String)
        case output(String)
        case statement(String)
    }

    indirect enum Node: Sendable {
        case text(String)
        case output(TemplateExpression)
        case loop(variable: String, sequence: TemplateExpression, body: [Node])
        case branches([(TemplateExpression, [Node])], otherwise: [Node])
    }
}

/// Turns segments into nodes: `for` and `if` nest until their `end…`.
private struct TemplateParser {
    var segments: [ChatTemplate.Segment]
    var position = 0

    /// Nodes until a statement whose first word is in `terminators` (left unread), or the end.
    mutating func nodes(until terminators: Set<String>) throws -> [ChatTemplate.Node] {
        var parsed: [ChatTemplate.Node] = []
        while position < segments.count {
            switch segments[position] {
            case let .text(text):
                parsed.append(.text(text))
                position += 1
            case let .output(source):
                parsed.append(.output(try TemplateExpression.parse(source)))
                position += 1
            case let .statement(source):
                let (word, rest) = Self.firstWord(source)
                if terminators.contains(word) { return parsed }
                position += 1
                switch word {
                case "for":
                    let parts = rest.split(separator: " ", maxSplits: 2).map(String.init)
                    guard parts.count == 3, parts[1] == "in", TemplateExpression.isName(parts[0]) else {
                        throw ChatTemplate.unsupported("the loop {% for \(rest) %}")
                    }
                    let body = try nodes(until: ["endfor"])
                    try expect("endfor")
                    parsed.append(.loop(variable: parts[0], sequence: try TemplateExpression.parse(parts[2]), body: body))
                case "if":
                    var branches = [(try TemplateExpression.parse(rest), try nodes(until: ["elif", "else", "endif"]))]
                    var otherwise: [ChatTemplate.Node] = []
                    while true {
                        guard position < segments.count, case let .statement(source) = segments[position] else {
                            throw ChatTemplate.unsupported("an {% if %} without {% endif %}")
                        }
                        position += 1
                        let (word, condition) = Self.firstWord(source)
                        if word == "elif" {
                            branches.append((try TemplateExpression.parse(condition), try nodes(until: ["elif", "else", "endif"])))
                        } else if word == "else" {
                            otherwise = try nodes(until: ["endif"])
                        } else {
                            break
                        }
                    }
                    parsed.append(.branches(branches, otherwise: otherwise))
                default:
                    throw ChatTemplate.unsupported("the statement {% \(source) %}")
                }
            }
        }
        guard terminators.isEmpty else {
            throw ChatTemplate.unsupported("a block that never reaches {% \(terminators.sorted().joined(separator: " or ")) %}")
        }
        return parsed
    }

    mutating func expect(_ word: String) throws {
        guard position < segments.count, case let .statement(source) = segments[position], Self.firstWord(source).0 == word else {
            throw ChatTemplate.unsupported("a block without {% \(word) %}")
        }
        position += 1
    }

    static func firstWord(_ source: String) -> (String, String) {
        guard let space = source.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "\n" }) else { return (source, "") }
        return (String(source[..<space]), String(source[space...]).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// An expression of the subset: literals, names, subscripts, attributes, `+`, comparisons, logic.
indirect enum TemplateExpression: Sendable {
    case literal(TemplateValue)
    case name(String)
    case subscripted(TemplateExpression, TemplateExpression)
    case concatenated(TemplateExpression, TemplateExpression)
    case equal(TemplateExpression, TemplateExpression, negated: Bool)
    case and(TemplateExpression, TemplateExpression)
    case or(TemplateExpression, TemplateExpression)
    case not(TemplateExpression)

    static func isName(_ s: String) -> Bool {
        guard let first = s.first, first.isLetter || first == "_" else { return false }
        return s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    func evaluate(_ scope: [String: TemplateValue]) throws -> TemplateValue {
        switch self {
        case let .literal(value):
            return value
        case let .name(name):
            guard let value = scope[name] else { throw ChatTemplate.unsupported("the name \(name), which attn does not provide") }
            return value
        case let .subscripted(base, key):
            switch (try base.evaluate(scope), try key.evaluate(scope)) {
            case let (.dictionary(entries), .string(k)):
                guard let value = entries[k] else { throw ChatTemplate.unsupported("the key '\(k)', which a message does not have") }
                return value
            case let (.list(items), .int(i)):
                let index = i < 0 ? items.count + i : i
                guard items.indices.contains(index) else { throw ChatTemplate.unsupported("the index \(i) of a list of \(items.count)") }
                return items[index]
            default:
                throw ChatTemplate.unsupported("a subscript of something that is neither a list nor a mapping")
            }
        case let .concatenated(a, b):
            switch (try a.evaluate(scope), try b.evaluate(scope)) {
            case let (.string(x), .string(y)): return .string(x + y)
            case let (.int(x), .int(y)): return .int(x + y)
            default: throw ChatTemplate.unsupported("+ between values that are not both strings or both integers")
            }
        case let .equal(a, b, negated):
            return .bool((try a.evaluate(scope) == (try b.evaluate(scope))) != negated)
        case let .and(a, b):
            return .bool(try a.evaluate(scope).isTrue && (try b.evaluate(scope).isTrue))
        case let .or(a, b):
            return .bool(try a.evaluate(scope).isTrue || (try b.evaluate(scope).isTrue))
        case let .not(a):
            return .bool(!(try a.evaluate(scope).isTrue))
        }
    }

    // MARK: Parsing

    static func parse(_ source: String) throws -> TemplateExpression {
        var parser = Parser(tokens: try tokenize(source), source: source)
        let expression = try parser.or()
        guard parser.position == parser.tokens.count else {
            throw ChatTemplate.unsupported("'\(parser.tokens[parser.position])' in {{ \(source) }}")
        }
        return expression
    }

    enum Token: Equatable, CustomStringConvertible {
        case string(String), int(Int), word(String), symbol(String)
        var description: String {
            switch self {
            case let .string(s): "'\(s)'"
            case let .int(n): String(n)
            case let .word(w): w
            case let .symbol(s): s
            }
        }
    }

    static func tokenize(_ source: String) throws -> [Token] {
        var tokens: [Token] = []
        var chars = Array(source)[...]
        while let c = chars.first {
            if c.isWhitespace { chars.removeFirst(); continue }
            if c == "'" || c == "\"" {
                chars.removeFirst()
                var s = ""
                while true {
                    guard let d = chars.popFirst() else { throw ChatTemplate.unsupported("an unterminated string in \(source)") }
                    if d == c { break }
                    if d == "\\" {
                        guard let e = chars.popFirst() else { throw ChatTemplate.unsupported("an unterminated string in \(source)") }
                        switch e {
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        case "r": s.append("\r")
                        case "\\", "'", "\"": s.append(e)
                        default: throw ChatTemplate.unsupported("the escape \\\(e)")
                        }
                    } else {
                        s.append(d)
                    }
                }
                tokens.append(.string(s))
            } else if c.isNumber {
                let digits = String(chars.prefix { $0.isNumber })
                chars.removeFirst(digits.count)
                guard let n = Int(digits) else { throw ChatTemplate.unsupported("the number \(digits)") }
                tokens.append(.int(n))
            } else if c.isLetter || c == "_" {
                let word = String(chars.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                chars.removeFirst(word.count)
                tokens.append(.word(word))
            } else if chars.starts(with: "==") || chars.starts(with: "!=") {
                tokens.append(.symbol(String(chars.prefix(2))))
                chars.removeFirst(2)
            } else if "[].+()".contains(c) {
                tokens.append(.symbol(String(c)))
                chars.removeFirst()
            } else {
                throw ChatTemplate.unsupported("'\(c)' in {{ \(source) }}")
            }
        }
        return tokens
    }

    /// Recursive descent, loosest first: or, and, not, == !=, +, subscripts and attributes, atoms.
    struct Parser {
        let tokens: [Token]
        let source: String
        var position = 0

        mutating func take(_ token: Token) -> Bool {
            guard position < tokens.count, tokens[position] == token else { return false }
            position += 1
            return true
        }

        mutating func or() throws -> TemplateExpression {
            var left = try and()
            while take(.word("or")) { left = .or(left, try and()) }
            return left
        }

        mutating func and() throws -> TemplateExpression {
            var left = try not()
            while take(.word("and")) { left = .and(left, try not()) }
            return left
        }

        mutating func not() throws -> TemplateExpression {
            if take(.word("not")) { return .not(try not()) }
            let left = try sum()
            if take(.symbol("==")) { return .equal(left, try sum(), negated: false) }
            if take(.symbol("!=")) { return .equal(left, try sum(), negated: true) }
            return left
        }

        mutating func sum() throws -> TemplateExpression {
            var left = try postfix()
            while take(.symbol("+")) { left = .concatenated(left, try postfix()) }
            return left
        }

        mutating func postfix() throws -> TemplateExpression {
            var base = try atom()
            while true {
                if take(.symbol("[")) {
                    let key = try or()
                    guard take(.symbol("]")) else { throw ChatTemplate.unsupported("a subscript without ] in {{ \(source) }}") }
                    base = .subscripted(base, key)
                } else if take(.symbol(".")) {
                    guard position < tokens.count, case let .word(attribute) = tokens[position] else {
                        throw ChatTemplate.unsupported("a . without a name after it in {{ \(source) }}")
                    }
                    position += 1
                    base = .subscripted(base, .literal(.string(attribute)))
                } else if position < tokens.count, tokens[position] == .symbol("(") {
                    throw ChatTemplate.unsupported("a function call in {{ \(source) }}")
                } else {
                    return base
                }
            }
        }

        mutating func atom() throws -> TemplateExpression {
            guard position < tokens.count else { throw ChatTemplate.unsupported("an incomplete expression {{ \(source) }}") }
            let token = tokens[position]
            position += 1
            switch token {
            case let .string(s): return .literal(.string(s))
            case let .int(n): return .literal(.int(n))
            case .word("true"), .word("True"): return .literal(.bool(true))
            case .word("false"), .word("False"): return .literal(.bool(false))
            case .word("none"), .word("None"): return .literal(.none)
            case let .word(name): return .name(name)
            case .symbol("("):
                let inner = try or()
                guard take(.symbol(")")) else { throw ChatTemplate.unsupported("a ( without ) in {{ \(source) }}") }
                return inner
            default:
                throw ChatTemplate.unsupported("'\(token)' in {{ \(source) }}")
            }
        }
    }
}
