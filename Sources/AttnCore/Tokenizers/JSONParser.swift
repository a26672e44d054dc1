/// A value of a JSON document, as attn's own parser reads it (`JSONParser`).
///
/// A whole number is kept apart from a fraction and from `true`: `1`, `1.0` and `true` are three
/// different values, so that a token id written `1.0` is refused. An object keeps its members in
/// the order of the file, with their keys as written: two keys that differ only in their Unicode
/// normalization (`"é"` as one scalar or two) stay two members, as in Hugging Face's reader.
enum JSONNode {
    case null
    case bool(Bool)
    /// A number without a fraction or an exponent that fits in an `Int`.
    case integer(Int)
    /// Any other number.
    case number(Double)
    case string(String)
    case array([JSONNode])
    /// The members in the order of the file.
    case object([(key: String, value: JSONNode)])
}

/// Reads JSON text (RFC 8259) into a `JSONNode`, byte by byte.
///
/// attn reads a tokenizer.json of 0.5–2 MB at every start; Foundation's `JSONSerialization`
/// took 37 ms of MiniLM's 88 ms first job for one (Tests/Benchmarks/README.md), most of it
/// making an `NSNumber` for each of 30522 ids. Nothing here allocates but the values themselves.
/// ```
/// {"model": {"vocab": {"[PAD]": 0, "the": 1996}}}
///   →  .object([("model", .object([("vocab", .object([("[PAD]", .integer(0)), ("the", .integer(1996))]))]))])
/// ```
/// Strict where JSON is: no trailing commas, comments, single quotes, leading zeros, control
/// characters in strings, lone surrogates or text that is not UTF-8. A UTF-8 byte-order mark at
/// the start is skipped.
struct JSONParser {
    /// Why the text is not JSON, with the byte offset where the parser stopped.
    struct Failure: Error {
        let reason: String
        let offset: Int
    }

    /// The deepest nesting of arrays and objects read: enough for any tokenizer, and a bound on
    /// the recursion whatever a hostile file holds.
    static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The one value `bytes` hold, with nothing but whitespace after it.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> JSONNode {
        var parser = JSONParser(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.position = 3 }
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("text after the value") }
        return value
    }

    private func failure(_ reason: String) -> Failure {
        Failure(reason: reason, offset: position)
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Consumes `byte` after any whitespace, or fails.
    private mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        skipWhitespace()
        guard current == byte else { throw failure("expected \(what)") }
        position += 1
    }

    private mutating func value() throws(Failure) -> JSONNode {
        skipWhitespace()
        guard let byte = current else { throw failure("the text ends where a value should be") }
        switch byte {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count,
              (0..<count).allSatisfy({ bytes[position + $0] == word.utf8Start[$0] }) else {
            throw failure("unexpected word")
        }
        position += count
    }

    /// The items of an array or object, from its opening bracket to `closing`, separated by
    /// commas, one level deeper: `item` reads each.
    private mutating func items(closing: UInt8, in kind: String,
                                _ item: (inout JSONParser) throws(Failure) -> Void) throws(Failure) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw failure("nested more than \(Self.maximumDepth) deep") }
        defer { depth -= 1 }
        position += 1  // the opening bracket
        skipWhitespace()
        if current == closing { position += 1; return }
        while true {
            try item(&self)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case closing: position += 1; return
            default: throw failure("expected ',' or '\(Character(Unicode.Scalar(closing)))' in \(kind)")
            }
        }
    }

    private mutating func object() throws(Failure) -> JSONNode {
        var members: [(key: String, value: JSONNode)] = []
        try items(closing: UInt8(ascii: "}"), in: "an object") { (parser: inout JSONParser) throws(Failure) in
            parser.skipWhitespace()
            guard parser.current == UInt8(ascii: "\"") else { throw parser.failure("expected a key in quotes") }
            let key = try parser.string()
            try parser.expect(UInt8(ascii: ":"), "':' after a key")
            members.append((key, try parser.value()))
        }
        return .object(members)
    }

    private mutating func array() throws(Failure) -> JSONNode {
        var elements: [JSONNode] = []
        try items(closing: UInt8(ascii: "]"), in: "an array") { (parser: inout JSONParser) throws(Failure) in
            elements.append(try parser.value())
        }
        return .array(elements)
    }

    // MARK: - Strings

    /// A string from its opening quote. Without escapes its bytes are checked and taken whole.
    private mutating func string() throws(Failure) -> String {
        position += 1  // the opening quote
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                defer { position += 1 }
                return try text(UnsafeBufferPointer(rebasing: bytes[start..<position]))
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw failure("a control character in a string") }
            position += 1
        }
        // Escapes: collect the bytes of the string, with each escape written out in UTF-8.
        var collected = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return try collected.withUnsafeBufferPointer { (buffer) throws(Failure) -> String in try text(buffer) }
            case UInt8(ascii: "\\"):
                try escape(into: &collected)
            case ..<0x20:
                position -= 1
                throw failure("a control character in a string")
            default:
                collected.append(byte)
            }
        }
        throw failure("a string without its closing quote")
    }

    private func text(_ utf8: UnsafeBufferPointer<UInt8>) throws(Failure) -> String {
        guard let string = String(validating: utf8, as: UTF8.self) else { throw failure("a string that is not UTF-8") }
        return string
    }

    /// The escape after a backslash, appended as UTF-8.
    private mutating func escape(into collected: inout [UInt8]) throws(Failure) {
        guard let byte = current else { throw failure("a string without its closing quote") }
        position += 1
        let simple: UInt8? = switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "u"): nil
        default: throw failure("an unknown escape")
        }
        if let simple { collected.append(simple); return }
        var code = UInt32(try hexQuad())
        if (0xD800..<0xDC00).contains(code) {
            // A high surrogate must be followed by an escaped low one: together one scalar.
            guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw failure("a lone surrogate in a string")
            }
            position += 2
            let low = UInt32(try hexQuad())
            guard (0xDC00..<0xE000).contains(low) else { throw failure("a lone surrogate in a string") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(code) else { throw failure("a lone surrogate in a string") }
        collected.append(contentsOf: UTF8.encode(scalar)!)
    }

    /// Four hexadecimal digits after `\u`.
    private mutating func hexQuad() throws(Failure) -> UInt16 {
        guard position + 4 <= bytes.count else { throw failure("a \\u escape without four hexadecimal digits") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let digit: UInt8
            switch bytes[position] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = bytes[position] - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = bytes[position] - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = bytes[position] - UInt8(ascii: "A") + 10
            default: throw failure("a \\u escape without four hexadecimal digits")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    // MARK: - Numbers

    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`: an `.integer` when it has neither a
    /// fraction nor an exponent and fits, else a `.number`.
    private mutating func number() throws(Failure) -> JSONNode {
        let start = position
        func digits(_ parser: inout JSONParser) throws(Failure) {
            let first = parser.position
            while let byte = parser.current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { parser.position += 1 }
            guard parser.position > first else { throw parser.failure("a number without digits") }
        }
        if current == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        try digits(&self)
        if bytes[integerStart] == UInt8(ascii: "0") && position - integerStart > 1 {
            throw failure("a number with a leading zero")
        }
        var whole = true
        if current == UInt8(ascii: ".") {
            position += 1
            try digits(&self)
            whole = false
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            try digits(&self)
            whole = false
        }
        if whole, let integer = Self.integer(UnsafeBufferPointer(rebasing: bytes[start..<position])) {
            return .integer(integer)
        }
        let spelled = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let number = Double(spelled), number.isFinite else { throw failure("a number too large for a double") }
        return .number(number)
    }

    /// The value of an optional minus and digits, or nil when it does not fit in an `Int`.
    private static func integer(_ spelled: UnsafeBufferPointer<UInt8>) -> Int? {
        let negative = spelled.first == UInt8(ascii: "-")
        var value = 0
        for byte in spelled.dropFirst(negative ? 1 : 0) {
            let digit = Int(byte - UInt8(ascii: "0"))
            let (tens, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = negative ? tens.subtractingReportingOverflow(digit) : tens.addingReportingOverflow(digit)
            guard !overflow, !overflow2 else { return nil }
            value = sum
        }
        return value
    }
}
