/// What attn reads of a Hugging Face `tokenizer.json`, for `WordPieceTokenizer` and `BPETokenizer`:
/// the vocabulary with its added tokens, and each stage of the pipeline.
///
/// ```
/// {"added_tokens":   [{"id": 50256, "content": "<|endoftext|>", "special": true, …}],
///  "normalizer":     null,                                  ┐ each stage: null or {"type": …}
///  "pre_tokenizer":  {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
///  "post_processor": {"type": "ByteLevel", …},              │
///  "decoder":        {"type": "ByteLevel", …},              ┘
///  "model":          {"type": "BPE", "vocab": {"!": 0, …}, "merges": ["Ġ t", …]}}
/// ```
/// Truncation and padding are not read: attn encodes one whole sentence at a time.
struct TokenizerJSON {
    /// A token that `tokenizers` cuts out of the text whole, before any other step.
    struct AddedToken {
        let content: String
        let id: Int
        /// Skipped when decoding; a control token to attn.
        let special: Bool
        /// Matched in the normalized text rather than the raw text.
        let normalized: Bool
    }

    /// The whole file.
    let root: JSONValue
    /// `model`, checked to be an object of the expected type.
    let model: JSONValue
    /// The tokens by id: `model.vocab`, then the added tokens that extend it.
    let vocabulary: [String]
    /// `added_tokens`, in the order of the file.
    let addedTokens: [AddedToken]
    /// The id of each token of `vocabulary` (its last, for a token the vocab lists twice).
    let ids: [TokenKey: Int]

    /// Larger than any real tokenizer.json (GPT-2's is 1.4 MB, multilingual BERT's 2 MB).
    static let sizeLimit = 64 << 20

    /// The file's path, for errors.
    var path: String { root.file }

    /// `directory/tokenizer.json`, if there is one.
    ///
    /// - Parameter modelType: what `model.type` must be: `"WordPiece"` or `"BPE"`.
    /// - Throws: `AttnError.fileUnreadable` when it cannot be read; `AttnError.vocabularyInvalid`
    ///   when it is not JSON, its model is another, or its vocabulary or added tokens are unusable
    ///   (see `tokensByID` and `readAddedTokens`).
    init?(directory: String, modelType: String) throws {
        guard let root = try JSONValue.read(file: directory + "/tokenizer.json", limit: Self.sizeLimit) else {
            return nil
        }
        self.root = root
        model = try root["model"]
        _ = try model.object()
        let type = try model["type"].string()
        guard type == modelType else {
            throw root.invalid("its model is \(JSONValue.quoted(type)), not \(JSONValue.quoted(modelType))")
        }
        var vocabulary = try Self.tokensByID(model["vocab"])
        var ids: [TokenKey: Int] = [:]
        ids.reserveCapacity(vocabulary.count)
        for (id, token) in vocabulary.enumerated() { ids[TokenKey(token)] = id }
        addedTokens = try Self.readAddedTokens(root["added_tokens"], extending: &vocabulary, ids: &ids)
        self.vocabulary = vocabulary
        self.ids = ids
    }

    /// The type of the stage `key` (`"normalizer"`, `"pre_tokenizer"`, …), or `nil` when it is
    /// `null` or missing.
    func stageType(_ key: String) throws -> String? {
        let stage = try root[key]
        return stage.isNull ? nil : try stage["type"].string()
    }

    /// An error for a setting attn does not reproduce: `its normalizer is "NFKC"; attn reads
    /// BertNormalizer or none`.
    func unsupported(_ what: String, _ value: String?, reads known: String) -> AttnError {
        root.invalid("its \(what) is \(value.map(JSONValue.quoted) ?? "null"); attn reads \(known)")
    }

    /// Refuses what makes a BPE model's output other than plain merging: dropout (random
    /// encodings) and a continuing-subword prefix or end-of-word suffix (`kind`: the BPE attn
    /// reads, for the message).
    func refuseBPEVariations(kind: String) throws {
        let dropout = try model["dropout"]
        if !dropout.isNull, JSONValue.number(dropout.value) != 0 {
            throw root.invalid("its model has dropout \(dropout.kind); attn reads null (dropout makes encoding random)")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = try model[key].optionalString(), !affix.isEmpty {
                throw unsupported("model's \(key)", affix, reads: "none for \(kind)")
            }
        }
    }

    // MARK: - The vocabulary

    /// A `{token: id}` object as the list of tokens by id (`model.vocab`, or GPT-2's `vocab.json`).
    ///
    /// ```
    /// {"a": 1, "[UNK]": 0, "b": 2}  →  ["[UNK]", "a", "b"]
    /// ```
    /// - Throws: `AttnError.vocabularyInvalid` when it is not an object, is empty, an id is not a
    ///   whole number, or the ids do not run 0..<n, each once.
    static func tokensByID(_ vocab: JSONValue) throws -> [String] {
        let entries = try vocab.object()
        guard !entries.isEmpty else { throw vocab.invalid("\(vocab.name) has no tokens") }
        var tokens = [String?](repeating: nil, count: entries.count)
        for (token, value) in entries {
            guard let id = JSONValue.index(value) else {
                let entry = JSONValue(value: value, keyPath: "\(vocab.name)[\(JSONValue.quoted(token))]", file: vocab.file)
                throw vocab.invalid("\(entry.name) is \(entry.kind), not a token id (a whole number from 0)")
            }
            guard id < entries.count else {
                throw vocab.invalid("""
                    the ids of \(vocab.name) must run 0..<\(entries.count) without gaps, but \
                    \(JSONValue.quoted(token)) has id \(id)
                    """)
            }
            if let other = tokens[id] {
                throw vocab.invalid("\(JSONValue.quoted(other)) and \(JSONValue.quoted(token)) both have id \(id) in \(vocab.name)")
            }
            tokens[id] = token
        }
        // Every one of the n ids is now taken once: n tokens below n, none twice.
        return tokens.compactMap { $0 }
    }

    /// `added_tokens`, checked against the ids `tokenizers` gives them; those not in the
    /// vocabulary are appended to it.
    ///
    /// `tokenizers` does not take an added token's id from the file: a token already in the
    /// vocabulary keeps its id there, and a new one gets the next id after the vocabulary and the
    /// tokens added before it. A file whose ids differ from those is refused, not renumbered.
    /// ```
    /// vocab {"a": 0, "b": 1}, added [{"id": 1, "content": "b"}, {"id": 2, "content": "<s>"}]
    ///   → vocabulary ["a", "b", "<s>"]
    /// ```
    /// - Parameter ids: the id of each token of `vocabulary`, extended with it.
    /// - Throws: `AttnError.vocabularyInvalid` for a wrongly typed field, an empty token, an id
    ///   other than `tokenizers`' one, or `single_word`, `lstrip` or `rstrip` set (they change
    ///   where a token matches, which attn does not reproduce).
    static func readAddedTokens(_ list: JSONValue, extending vocabulary: inout [String],
                                ids: inout [TokenKey: Int]) throws -> [AddedToken] {
        if list.isNull { return [] }

        var added: [AddedToken] = []
        for entry in try list.array() {
            let content = try entry["content"].string()
            let id = try entry["id"].index()
            let special = try entry["special"].bool(default: false)
            let normalized = try entry["normalized"].bool(default: !special)
            guard !content.isEmpty else { throw list.invalid("\(entry.name) is an empty token") }
            for option in ["single_word", "lstrip", "rstrip"] where try entry[option].bool(default: false) {
                throw list.invalid("added token \(JSONValue.quoted(content)) has \(option): true, which attn does not reproduce")
            }

            let expected = ids[TokenKey(content)] ?? vocabulary.count
            guard id == expected else {
                let why = expected < vocabulary.count ? "its id in the vocabulary" : "the next id after the vocabulary"
                throw list.invalid("""
                    added token \(JSONValue.quoted(content)) has id \(id), but tokenizers gives it \
                    \(expected), \(why)
                    """)
            }
            if expected == vocabulary.count {
                vocabulary.append(content)
                ids[TokenKey(content)] = id
            }
            added.append(AddedToken(content: content, id: id, special: special, normalized: normalized))
        }
        return added
    }

    // MARK: - Where added tokens match

    /// Checks that cutting the added tokens out of the raw text, in one pass, as attn does, finds
    /// what `tokenizers` finds.
    ///
    /// `tokenizers` matches the tokens with `normalized: false` in the raw text first, then those
    /// with `normalized: true` in the normalized text of what is left:
    /// ```
    /// lowercasing normalizer, "[MASK]" normalized  →  the text "[mask]" is the token too
    /// no normalizer, "ab" normalized, "bc" not     →  "abc" is "a" + "bc", not "ab" + "c"
    /// ```
    /// - Parameter normalizes: whether the normalizer can change text (false for none).
    /// - Throws: `AttnError.vocabularyInvalid` naming a token for which the two ways differ.
    func checkAddedTokensMatchInRawText(normalizes: Bool) throws {
        let normalized = addedTokens.filter(\.normalized)
        if normalizes, let token = normalized.first {
            throw root.invalid("""
                added token \(JSONValue.quoted(token.content)) has normalized: true, so tokenizers \
                matches it in the normalized text; attn matches added tokens in the raw text only
                """)
        }
        for first in addedTokens where !first.normalized {
            for second in normalized where Self.canOverlap(Array(first.content.unicodeScalars),
                                                           Array(second.content.unicodeScalars)) {
                throw root.invalid("""
                    added tokens \(JSONValue.quoted(first.content)) and \(JSONValue.quoted(second.content)) \
                    can overlap in a text, and tokenizers matches them in separate passes (normalized: \
                    false, then true), which attn does not reproduce
                    """)
            }
        }
    }

    /// Whether some text could hold `a` and `b` at overlapping places: one inside the other, or an
    /// end of one that starts the other.
    static func canOverlap(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Bool {
        func contains(_ long: [Unicode.Scalar], _ short: [Unicode.Scalar]) -> Bool {
            guard short.count <= long.count else { return false }
            return (0...(long.count - short.count)).contains { long[$0...].starts(with: short) }
        }
        func endStartsOther(_ first: [Unicode.Scalar], _ second: [Unicode.Scalar]) -> Bool {
            (1..<max(1, min(first.count, second.count + 1))).contains { length in
                second.starts(with: first[(first.count - length)...])
            }
        }
        return contains(a, b) || contains(b, a) || endStartsOther(a, b) || endStartsOther(b, a)
    }
}
