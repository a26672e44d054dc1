/// A value of a tokenizer's JSON file with the keys that lead to it, so that every value is
/// checked for its type before use and every error names the value it is about.
///
/// ```
/// let json = try JSONValue.read(file: "…/tokenizer.json", limit: 64 << 20)   // nil: no file
/// try json["model"]["type"].string()          →  "BPE"
/// try json["model"]["dropout"].string()       →  throws: model.dropout is null, not a string
/// try json["added_tokens"].array()[2]["id"]   →  the value at added_tokens[2].id
/// ```
/// The file is read by attn's own `JSONParser`, which tells a whole number apart from `true` and
/// from `1.5` and keeps an object's keys byte for byte.
struct JSONValue {
    /// The parsed value; `nil` when the key is missing.
    let value: JSONNode?
    /// Where it is in the file: `model.vocab`, `added_tokens[3].id`; empty for the whole file.
    let keyPath: String
    /// The file, for error messages.
    let file: String

    /// The whole of a JSON file whose top level is an object.
    ///
    /// - Parameters:
    ///   - file: its path.
    ///   - limit: the most bytes it may have; a larger file is refused before it is read.
    /// - Returns: `nil` when there is no such file.
    /// - Throws: `AttnError.fileUnreadable` when it cannot be read or is too large;
    ///   `AttnError.vocabularyInvalid` when it is not JSON or its top level is not an object.
    static func read(file: String, limit: Int) throws -> JSONValue? {
        guard let bytes = try MappedFile.contents(of: file, limit: limit) else { return nil }
        let parsed: JSONNode
        do {
            parsed = try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParser.Failure) in try JSONParser.parse(buffer) }
        } catch {
            throw AttnError.vocabularyInvalid(path: file, reason: "it is not valid JSON")
        }
        let root = JSONValue(value: parsed, keyPath: "", file: file)
        _ = try root.object()
        return root
    }

    /// An error about this value's file.
    func invalid(_ reason: String) -> AttnError {
        .vocabularyInvalid(path: file, reason: reason)
    }

    /// The value's name in a sentence: `model.vocab`, or `its top level`.
    var name: String { keyPath.isEmpty ? "its top level" : keyPath }

    /// Whether the key is missing or its value is `null`.
    var isNull: Bool {
        switch value {
        case nil, .null: true
        default: false
        }
    }

    /// Whether the value is a string.
    var isString: Bool {
        if case .string = value { true } else { false }
    }

    // MARK: - Members

    /// The member `key` of this object (the last, if the file gives the key twice); a missing key
    /// gives a value whose `value` is `nil`.
    ///
    /// - Throws: when this value is not an object.
    subscript(key: String) -> JSONValue {
        get throws {
            let members = try object()
            let member = members.last { $0.key.utf8.elementsEqual(key.utf8) }
            return JSONValue(value: member?.value, keyPath: keyPath.isEmpty ? key : "\(keyPath).\(key)", file: file)
        }
    }

    /// The members of an object, in the order of the file.
    func object() throws -> [(key: String, value: JSONNode)] {
        guard case .object(let members) = value else { throw invalid("\(name) is \(kind), not an object") }
        return members
    }

    /// The elements of an array, each with its index in its key path.
    func array() throws -> [JSONValue] {
        guard case .array(let array) = value else { throw invalid("\(name) is \(kind), not a list") }
        return array.enumerated().map { JSONValue(value: $1, keyPath: "\(keyPath)[\($0)]", file: file) }
    }

    // MARK: - Scalars

    /// A string.
    func string() throws -> String {
        guard case .string(let string) = value else { throw invalid("\(name) is \(kind), not a string") }
        return string
    }

    /// A string; `fallback` when the key is missing.
    func string(default fallback: String) throws -> String {
        value == nil ? fallback : try string()
    }

    /// A string, or `nil` when the key is missing or `null`.
    func optionalString() throws -> String? {
        isNull ? nil : try string()
    }

    /// `true` or `false`; `fallback`, if there is one, when the key is missing.
    func bool(default fallback: Bool? = nil) throws -> Bool {
        if value == nil, let fallback { return fallback }
        guard let bool = Self.bool(value) else { throw invalid("\(name) is \(kind), not true or false") }
        return bool
    }

    /// `true` or `false`, or `nil` when the key is missing or `null`.
    func optionalBool() throws -> Bool? {
        isNull ? nil : try bool(default: false)
    }

    /// A whole number from 0 (an id, a count); `fallback` when the key is missing.
    func index(default fallback: Int? = nil) throws -> Int {
        if value == nil, let fallback { return fallback }
        guard let index = Self.index(value) else { throw invalid("\(name) is \(kind), not a whole number from 0") }
        return index
    }

    /// `value` as a whole number from 0, if it is one: not `true`, not `1.5`, not `1.0`.
    static func index(_ value: JSONNode?) -> Int? {
        guard case .integer(let integer) = value, integer >= 0 else { return nil }
        return integer
    }

    /// `value` as a number, if it is one (and not `true` or `false`).
    static func number(_ value: JSONNode?) -> Double? {
        switch value {
        case .integer(let integer): Double(integer)
        case .number(let number): number
        default: nil
        }
    }

    /// `value` as a boolean, if it is one (and not the number 1 or 0).
    static func bool(_ value: JSONNode?) -> Bool? {
        guard case .bool(let bool) = value else { return nil }
        return bool
    }

    /// What the value is, in a few words, for errors: `missing`, `null`, `the number 1.5`.
    var kind: String {
        switch value {
        case nil: "missing"
        case .null: "null"
        case .bool(let bool): "\(bool)"
        case .integer(let integer): "the number \(integer)"
        case .number(let number): "the number \(number)"
        case .string(let string): "the string \(Self.quoted(string))"
        case .array: "a list"
        case .object: "an object"
        }
    }

    /// `text` in quotes, cut to 40 characters, for an error message.
    static func quoted(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > 40 else { return "\"\(text)\"" }
        return "\"\(String(String.UnicodeScalarView(scalars.prefix(40))))…\""
    }
}
