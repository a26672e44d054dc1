import Foundation  // reading the vocabulary file

/// BERT's tokenizer: text → words and punctuation → WordPiece sub-words → `[CLS] … [SEP]` ids.
///
/// ```
/// "Tokenizing is fun!"
///   BasicTokenizer   ["tokenizing", "is", "fun", "!"]
///   WordPiece        ["token", "##izing", "is", "fun", "!"]
///   ids              [101, 19204, 6026, 2003, 4569, 999, 102]
///                     [CLS]                             [SEP]
/// ```
/// A `##` piece continues the word before it. The output matches Hugging Face `tokenizers` with
/// the model's `tokenizer.json`, id for id; the test suite checks that against fixtures, for
/// uncased, cased and accent-stripping BERTs.
public struct WordPieceTokenizer: Sendable {
    /// The vocabulary: `vocabulary[id]` is the token with that id (the line of `vocab.txt`).
    public let vocabulary: [String]

    /// Id of `[CLS]`, put first; its final vector stands for the whole sentence.
    public let clsId: Int
    /// Id of `[SEP]`, put last; it ends the sentence.
    public let sepId: Int
    /// Id of `[UNK]`, for a word WordPiece cannot spell with the vocabulary.
    public let unkId: Int
    /// Id of `[PAD]`, for filling a batch to a common length (attn reads one sentence, unpadded).
    public let padId: Int

    /// Words longer than this many code points become `[UNK]` without being tried
    /// (`max_input_chars_per_word` in `tokenizer.json`; 100 for every BERT).
    public let maxCharactersPerWord: Int

    /// The cleaning steps before words are split: lowercasing, accent stripping, ….
    public var normalization: BertNormalization { basic.normalization }

    /// Token → id. Keyed by UTF-8 bytes: see `TokenKey`.
    private let idsByToken: [TokenKey: Int]

    /// Tokens that are cut out of the raw text before any cleaning, as `tokenizers` does with its
    /// "added tokens": `"a [MASK] b"` encodes `[MASK]` as id 103, not as `[`, `mask`, `]`.
    private let specialTokens: [(scalars: [Unicode.Scalar], id: Int)]

    private let basic: BasicTokenizer

    /// The BERT special tokens. `[MASK]` is optional; the other four must be in the vocabulary.
    static let requiredSpecialTokens = ["[CLS]", "[SEP]", "[UNK]", "[PAD]"]
    static let optionalSpecialTokens = ["[MASK]"]

    // MARK: - Loading

    /// Reads a BERT `vocab.txt`: one token per line, the id of a token is its line number from 0.
    ///
    /// Trailing whitespace on a line (such as the `\r` of Windows line ends) is not part of the
    /// token, as in Hugging Face's reader.
    /// - Parameter path: the file, e.g. `~/.cache/attn/models/minilm/vocab.txt`.
    /// - Throws: `AttnError.fileUnreadable` if the file cannot be read;
    ///   `AttnError.vocabularyInvalid` if it is empty, not UTF-8, or lacks `[CLS]`, `[SEP]`,
    ///   `[UNK]` or `[PAD]`.
    public init(vocabularyFile path: String) throws {
        guard let tokens = try Self.readVocabularyFile(path) else {
            throw AttnError.fileUnreadable(path: path, reason: "there is no such file")
        }
        self.init(checkedVocabulary: tokens)
    }

    /// The tokens of a `vocab.txt`, checked to be a BERT vocabulary, or `nil` if there is no file.
    private static func readVocabularyFile(_ path: String) throws -> [String]? {
        // MiniLM's is 231 KB, multilingual BERT's under 1 MB; 64 MB is far more than any needs.
        guard let bytes = try MappedFile.contents(of: path, limit: 64 << 20) else { return nil }
        guard !bytes.isEmpty else {
            throw AttnError.vocabularyInvalid(path: path, reason: "the file is empty")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw AttnError.vocabularyInvalid(path: path, reason: "it is not UTF-8 text")
        }

        // Split at the byte "\n" (a "\r\n" line keeps its "\r" until the trim below).
        // "a\nb\n" holds two lines, not three: a final newline ends the last line.
        // Read as bytes, not as a `String`, whose walk was slow (Tests/Benchmarks/README.md).
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        let tokens = lines.map(Self.trimmingTrailingWhitespace)

        if let problem = Self.problem(with: tokens) {
            throw AttnError.vocabularyInvalid(path: path, reason: problem)
        }
        return tokens
    }

    /// A line of `vocab.txt` as a token: without trailing whitespace (Unicode's White_Space, as
    /// Rust's `trim_end` in Hugging Face's reader). Nearly every line ends in an ASCII letter;
    /// only a line ending in a space or a non-ASCII byte is looked at code point by code point.
    private static func trimmingTrailingWhitespace(_ line: ArraySlice<UInt8>) -> String {
        guard let last = line.last, last >= 0x80 || Unicode.Scalar(last).properties.isWhitespace else {
            return String(decoding: line, as: UTF8.self)
        }
        var token = String(decoding: line, as: UTF8.self).unicodeScalars
        while let scalar = token.last, scalar.properties.isWhitespace { token.removeLast() }
        return String(token)
    }

    /// A tokenizer over an in-memory vocabulary; the id of a token is its index.
    ///
    /// - Precondition: `vocabulary` contains `[CLS]`, `[SEP]`, `[UNK]` and `[PAD]` (a programming
    ///   error otherwise; vocabularies from files go through `init(vocabularyFile:)`, which throws).
    public init(vocabulary: [String]) {
        let problem = Self.problem(with: vocabulary)
        precondition(problem == nil, "WordPieceTokenizer(vocabulary:): \(problem ?? "")")
        self.init(checkedVocabulary: vocabulary)
    }

    /// What makes `tokens` unusable as a BERT vocabulary, or `nil` if nothing does.
    private static func problem(with tokens: [String]) -> String? {
        if tokens.isEmpty { return "it has no tokens" }
        let missing = requiredSpecialTokens.filter { !tokens.contains($0) }
        if missing.isEmpty { return nil }
        return "it has no \(missing.joined(separator: ", ")) token\(missing.count == 1 ? "" : "s")"
    }

    /// A vocabulary that `problem(with:)` accepts, with BERT's special tokens by their names.
    private init(checkedVocabulary tokens: [String], normalization: BertNormalization = BertNormalization()) {
        let ids = Self.idsByToken(tokens)
        // `problem(with:)` has checked that the required tokens are present.
        func id(_ token: String) -> Int { ids[TokenKey(token)] ?? 0 }
        self.init(vocabulary: tokens, ids: ids,
                  clsId: id("[CLS]"), sepId: id("[SEP]"), unkId: id("[UNK]"), padId: id("[PAD]"),
                  specialTokens: (Self.requiredSpecialTokens + Self.optionalSpecialTokens)
                      .compactMap { token in ids[TokenKey(token)].map { (token, $0) } },
                  normalization: normalization, maxCharactersPerWord: 100)
    }

    private init(vocabulary: [String], ids: [TokenKey: Int], clsId: Int, sepId: Int, unkId: Int, padId: Int,
                 specialTokens: [(content: String, id: Int)], normalization: BertNormalization,
                 maxCharactersPerWord: Int) {
        self.vocabulary = vocabulary
        idsByToken = ids
        self.clsId = clsId
        self.sepId = sepId
        self.unkId = unkId
        self.padId = padId
        // Longest first, so that the first token found at a position is the longest one there.
        self.specialTokens = specialTokens
            .map { (scalars: Array($0.content.unicodeScalars), id: $0.id) }
            .sorted { $0.scalars.count > $1.scalars.count }
        basic = BasicTokenizer(normalization: normalization)
        self.maxCharactersPerWord = maxCharactersPerWord
    }

    /// Token → id; a token listed twice keeps its last id, as in Hugging Face's reader.
    private static func idsByToken(_ tokens: [String]) -> [TokenKey: Int] {
        var ids: [TokenKey: Int] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { ids[TokenKey(token)] = id }
        return ids
    }

    // MARK: - Loading a Hugging Face checkpoint

    /// The tokenizer of a Hugging Face BERT checkpoint: its `tokenizer.json`, or else its
    /// `vocab.txt` with the options of its `tokenizer_config.json`.
    ///
    /// ```
    /// tokenizer.json       model WordPiece (vocab, unk_token, "##", max_input_chars_per_word),
    ///                      normalizer BertNormalizer or none, pre_tokenizer BertPreTokenizer,
    ///                      post_processor TemplateProcessing or BertProcessing: [CLS] $A [SEP],
    ///                      added_tokens matched whole in the raw text
    /// vocab.txt            one token per line; options from tokenizer_config.json, if there is one:
    ///                      do_lower_case (true), strip_accents (null), tokenize_chinese_chars (true)
    /// ```
    /// `WordPieceTokenizer(huggingFaceDirectory: "…/bert-base-cased")` then encodes `"Hello"` as
    /// `[101, 8667, 102]`, where the uncased BERT's vocabulary gives `[101, 7592, 102]`.
    /// - Parameter directory: the checkpoint's directory (a snapshot of the Hugging Face cache).
    /// - Throws: `AttnError.fileUnreadable` when neither file is there or one cannot be read;
    ///   `AttnError.vocabularyInvalid` naming the file and the setting when a file is malformed or
    ///   asks for something attn does not reproduce exactly (another model, normalizer,
    ///   pre-tokenizer or template, a prefix other than `##`).
    public init(huggingFaceDirectory directory: String) throws {
        if let json = try TokenizerJSON(directory: directory, modelType: "WordPiece") {
            try self.init(tokenizerJSON: json)
            return
        }
        let vocabularyPath = directory + "/vocab.txt"
        guard let tokens = try Self.readVocabularyFile(vocabularyPath) else {
            throw AttnError.fileUnreadable(path: vocabularyPath, reason: "there is no such file, and no tokenizer.json beside it")
        }
        var normalization = BertNormalization()
        if let config = try JSONValue.read(file: directory + "/tokenizer_config.json", limit: TokenizerJSON.sizeLimit) {
            // The defaults are those of transformers' BertTokenizer.
            normalization = BertNormalization(
                chineseCharacters: try config["tokenize_chinese_chars"].bool(default: true),
                stripAccents: try config["strip_accents"].optionalBool(),
                lowercase: try config["do_lower_case"].bool(default: true))
        }
        self.init(checkedVocabulary: tokens, normalization: normalization)
    }

    /// A tokenizer from a `tokenizer.json` whose model is WordPiece.
    private init(tokenizerJSON json: TokenizerJSON) throws {
        let model = json.model
        let vocabulary = json.vocabulary
        let ids = json.ids

        let prefix = try model["continuing_subword_prefix"].string(default: "##")
        guard prefix == "##" else {
            throw json.unsupported("continuing_subword_prefix", prefix, reads: "\"##\"")
        }
        let unknown = try model["unk_token"].string(default: "[UNK]")
        guard let unkId = ids[TokenKey(unknown)] else {
            throw json.root.invalid("its unk_token \(JSONValue.quoted(unknown)) is not in the vocabulary")
        }
        let maxCharactersPerWord = try model["max_input_chars_per_word"].index(default: 100)

        let normalization: BertNormalization
        switch try json.stageType("normalizer") {
        case nil:
            normalization = .none
        case "BertNormalizer":
            let normalizer = try json.root["normalizer"]
            normalization = BertNormalization(
                cleanText: try normalizer["clean_text"].bool(default: true),
                chineseCharacters: try normalizer["handle_chinese_chars"].bool(default: true),
                stripAccents: try normalizer["strip_accents"].optionalBool(),
                lowercase: try normalizer["lowercase"].bool(default: true))
        case let other:
            throw json.unsupported("normalizer", other, reads: "BertNormalizer or none")
        }
        let preTokenizer = try json.stageType("pre_tokenizer")
        guard preTokenizer == "BertPreTokenizer" else {
            throw json.unsupported("pre-tokenizer", preTokenizer, reads: "BertPreTokenizer")
        }
        let (clsId, sepId) = try Self.clsAndSepIds(json)
        try json.checkAddedTokensMatchInRawText(normalizes: normalization != .none)

        var padId = ids[TokenKey("[PAD]")]
        let padding = try json.root["padding"]
        if padId == nil, !padding.isNull { padId = try padding["pad_id"].index() }
        guard let padId, vocabulary.indices.contains(padId) else {
            throw json.root.invalid("it has no [PAD] token")
        }

        self.init(vocabulary: vocabulary, ids: ids, clsId: clsId, sepId: sepId, unkId: unkId, padId: padId,
                  specialTokens: json.addedTokens.map { ($0.content, $0.id) },
                  normalization: normalization, maxCharactersPerWord: maxCharactersPerWord)
    }

    /// The ids the post-processor puts around a sentence, which must be `[CLS] $A [SEP]`.
    ///
    /// ```
    /// TemplateProcessing  "single": [{"SpecialToken": {"id": "[CLS]"}}, {"Sequence": {"id": "A"}},
    ///                                {"SpecialToken": {"id": "[SEP]"}}],
    ///                     "special_tokens": {"[CLS]": {"ids": [101]}, "[SEP]": {"ids": [102]}}
    /// BertProcessing      "cls": ["[CLS]", 101], "sep": ["[SEP]", 102]
    /// ```
    private static func clsAndSepIds(_ json: TokenizerJSON) throws -> (cls: Int, sep: Int) {
        let processor = try json.root["post_processor"]
        let ids: (cls: Int, sep: Int)
        switch try json.stageType("post_processor") {
        case "TemplateProcessing":
            let single = try processor["single"].array()
            let pieces = try single.map { piece -> (kind: String, id: String) in
                let members = try piece.object()
                guard members.count == 1, let kind = members.first?.key else {
                    throw piece.invalid("\(piece.name) is not one SpecialToken or Sequence")
                }
                return (kind, try piece[kind]["id"].string())
            }
            guard pieces.count == 3, pieces[0].kind == "SpecialToken", pieces[1].kind == "Sequence",
                  pieces[1].id == "A", pieces[2].kind == "SpecialToken" else {
                let template = pieces.map { $0.kind == "Sequence" ? "$\($0.id)" : $0.id }.joined(separator: " ")
                throw json.root.invalid("its post-processor's template is \"\(template)\"; attn adds [CLS] $A [SEP]")
            }
            func specialId(_ name: String) throws -> Int {
                let entry = try processor["special_tokens"][name]
                let ids = try entry["ids"].array()
                guard ids.count == 1 else {
                    throw json.root.invalid("its post-processor's \(JSONValue.quoted(name)) is \(ids.count) tokens; attn adds one")
                }
                return try ids[0].index()
            }
            ids = (try specialId(pieces[0].id), try specialId(pieces[2].id))
        case "BertProcessing":
            func pair(_ key: String) throws -> Int {
                let value = try processor[key]
                let pair = try value.array()
                guard pair.count == 2 else { throw json.root.invalid("\(value.name) is not a [token, id] pair") }
                _ = try pair[0].string()
                return try pair[1].index()
            }
            ids = (try pair("cls"), try pair("sep"))
        case let other:
            throw json.unsupported("post-processor", other, reads: "TemplateProcessing or BertProcessing adding [CLS] … [SEP]")
        }
        for id in [ids.cls, ids.sep] where !json.vocabulary.indices.contains(id) {
            throw json.root.invalid("its post-processor adds id \(id), which is not in 0..<\(json.vocabulary.count)")
        }
        return ids
    }

    // MARK: - Lookup

    /// The id of `token` exactly as written (`"##ing"` for a continuation), or `nil`.
    public func id(of token: String) -> Int? {
        idsByToken[TokenKey(token)]
    }

    /// The token text of each id; an id outside the vocabulary reads as `[UNK]`.
    public func tokens(_ ids: [Int]) -> [String] {
        ids.map { vocabulary.indices.contains($0) ? vocabulary[$0] : vocabulary[unkId] }
    }

    // MARK: - Encoding

    /// The ids of `[CLS]`, the tokens of `text`, `[SEP]`.
    ///
    /// ```
    /// encode("Hello, world!")  →  [101, 7592, 1010, 2088, 999, 102]
    /// ```
    /// - Parameters:
    ///   - text: any text. `[CLS]`, `[SEP]`, `[UNK]`, `[PAD]` and `[MASK]` written in it, in capitals,
    ///     stand for themselves (with a `tokenizer.json`: its added tokens, exactly as written).
    ///   - limit: the most tokens the model reads, `[CLS]` and `[SEP]` included (512 for BERT:
    ///     it has 512 learned positions).
    /// - Throws: `AttnError.sequenceTooLong` when there are more than `limit` tokens.
    public func encode(_ text: String, limit: Int = 512) throws -> [Int] {
        var ids = [clsId]
        for segment in segments(text) {
            switch segment {
            case let .special(id):
                ids.append(id)
            case let .text(plain):
                for word in basic.split(plain) {
                    ids.append(contentsOf: wordPieceIds(word))
                }
            }
        }
        ids.append(sepId)
        guard ids.count <= limit else {
            throw AttnError.sequenceTooLong(tokens: ids.count, limit: limit, context: limit)
        }
        return ids
    }

    /// WordPiece on one word from `BasicTokenizer.split`: greedy longest-match-first.
    ///
    /// ```
    /// "embeddings"  try "embeddings", "embedding", …, "em" ✓     → "em"
    ///               try "##beddings", "##bedding", …, "##bed" ✓  → "##bed"
    ///               try "##dings", "##ding" ✓                    → "##ding"
    ///               try "##s" ✓                                  → "##s"
    /// → ["em", "##bed", "##ding", "##s"]
    /// ```
    /// If some remainder matches nothing, the whole word is `["[UNK]"]`; so is a word longer
    /// than `maxCharactersPerWord` code points.
    public func wordPieces(_ word: String) -> [String] {
        tokens(wordPieceIds(word))
    }

    /// `wordPieces`, as ids.
    func wordPieceIds(_ word: String) -> [Int] {
        let scalars = Array(word.unicodeScalars)
        if scalars.count > maxCharactersPerWord { return [unkId] }

        // Pieces are cut at code point boundaries; `offsets[i]` is where scalar i starts in `bytes`.
        let bytes = Array(word.utf8)
        var offsets = [0]
        for scalar in scalars { offsets.append(offsets[offsets.count - 1] + UTF8.width(scalar)) }
        let continuation = Array("##".utf8)

        var ids: [Int] = []
        var start = 0
        while start < scalars.count {
            // Longest first: shrink the candidate from the right, one code point at a time.
            var end = scalars.count
            var found: Int?
            while start < end {
                let piece = bytes[offsets[start]..<offsets[end]]
                let key = TokenKey(utf8: start == 0 ? Array(piece) : continuation + piece)
                if let id = idsByToken[key] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [unkId] }  // the vocabulary cannot spell this word
            ids.append(id)
            start = end
        }
        return ids
    }

    // MARK: - Special tokens in the text

    private enum Segment {
        case text(String)
        case special(Int)
    }

    /// `text` cut at each special token written in it, matched on the raw text, case-sensitively,
    /// earliest first: `"a[SEP]b"` → `.text("a")`, `.special(102)`, `.text("b")`.
    private func segments(_ text: String) -> [Segment] {
        let scalars = Array(text.unicodeScalars)
        var segments: [Segment] = []
        var plainStart = 0
        var position = 0

        func endPlainText(at end: Int) {
            if plainStart < end {
                segments.append(.text(String(String.UnicodeScalarView(scalars[plainStart..<end]))))
            }
        }

        while position < scalars.count {
            // Of the tokens that start here, the longest wins (`specialTokens` is longest first).
            let match = specialTokens.first { scalars[position...].starts(with: $0.scalars) }
            if let match {
                endPlainText(at: position)
                segments.append(.special(match.id))
                position += match.scalars.count
                plainStart = position
            } else {
                position += 1
            }
        }
        endPlainText(at: scalars.count)
        return segments
    }
}
