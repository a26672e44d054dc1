/// What a decoder's tokenizer does for the notebook: text to ids and back, token by token.
/// ``BPETokenizer`` (GPT-2, SmolLM2: byte-level BPE) and ``SentencePieceTokenizer`` (Gemma:
/// `▁` for a space, byte fallback) conform.
public protocol DecoderTokenizer: Sendable {
    /// The vocabulary: `vocabulary[id]` is the token as the file stores it.
    var vocabulary: [String] { get }
    /// The id that starts a text, if the vocabulary names one.
    var bosId: Int? { get }
    /// The id that ends a text (or a chat turn).
    var eosId: Int? { get }
    /// Whether the model's input starts with ``bosId`` (Gemma's does; SmolLM2's and GPT-2's do
    /// not): ``DecoderModel/inputIds(_:)`` adds it, ``encode(_:)`` never does.
    var addsBeginningToken: Bool { get }
    /// The ids of `text`, with nothing added; special tokens written in the text stand for themselves.
    func encode(_ text: String) -> [Int]
    /// The id of `token` exactly as stored, or nil.
    func id(of token: String) -> Int?
    /// A token as a learner should read it (`" Paris"`); `""` outside the vocabulary.
    func tokenText(_ id: Int) -> String
    /// A token as a one-line label under a matrix (`·Paris`).
    func label(_ id: Int) -> String
    /// The text of `ids`, invalid UTF-8 as U+FFFD.
    func decode(_ ids: [Int]) -> String
    /// The bytes a token adds to the decoded text (empty outside the vocabulary).
    func bytes(of id: Int) -> [UInt8]
}

/// Decodes ids one at a time, as a model generates them, giving back only whole characters.
///
/// ```
/// 😀 is F0 9F 98 80, three tokens for SmolLM2: "ðŁ" (F0 9F), "ĺ" (98), "Ģ" (80)
/// var stream = TokenStreamDecoder(tokenizer: tokenizer)
/// stream.push(10813)   →  ""
/// stream.push(242)     →  ""
/// stream.push(218)     →  "😀"
/// stream.finish()      →  ""
/// ```
/// What the pushes and `finish()` return, joined, is `decode` of all the ids.
public struct TokenStreamDecoder: Sendable {
    private let tokenizer: any DecoderTokenizer
    /// Bytes of a character that has not been completed yet (at most 3).
    private var pending: [UInt8] = []

    /// A decoder with nothing pushed yet.
    public init(tokenizer: any DecoderTokenizer) {
        self.tokenizer = tokenizer
    }

    /// The text that `id` completes: `""` while a character is still incomplete.
    ///
    /// Bytes that can no longer become a character come out as U+FFFD, as in `decode`.
    public mutating func push(_ id: Int) -> String {
        pending.append(contentsOf: tokenizer.bytes(of: id))
        let complete = UTF8Validation.incompleteSuffixStart(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// The rest: an incomplete character at the end becomes U+FFFD. The decoder is then empty.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }
}
