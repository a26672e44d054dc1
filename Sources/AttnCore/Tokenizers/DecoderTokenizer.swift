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
    /// A decoder of ids one at a time, as a model generates them (see ``TokenStream``).
    func streamDecoder() -> any TokenStream
}

/// Decodes ids one at a time, as a model generates them: each push gives back the text the id
/// completes (`""` while a character is still incomplete); what the pushes and `finish()` return,
/// joined, is `decode` of all the ids.
public protocol TokenStream: Sendable {
    mutating func push(_ id: Int) -> String
    /// The rest. The decoder is then empty.
    mutating func finish() -> String
}

extension GGUFFile {
    /// A whole number of the tokenizer's metadata (`tokenizer.ggml.bos_token_id`, …), nil when absent.
    /// - Throws: `.vocabularyInvalid` when the value is not an integer.
    func tokenizerInt(_ key: String) throws -> Int? {
        guard let value = metadata[key] else { return nil }
        guard let int = value.int else { throw AttnError.vocabularyInvalid(path: path, reason: "\(key) is not an integer") }
        return int
    }
}
