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
/// the model's `tokenizer.json`, id for id; the test suite checks that against a fixture.
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
    /// (`max_input_chars_per_word` in `tokenizer.json`).
    public let maxCharactersPerWord = 100

    /// Token → id. Keyed by UTF-8 bytes: see `TokenKey`.
    private let idsByToken: [TokenKey: Int]

    /// Tokens that are cut out of the raw text before any cleaning, as `tokenizers` does with its
    /// "added tokens": `"a [MASK] b"` encodes `[MASK]` as id 103, not as `[`, `mask`, `]`.
    private let specialTokens: [(scalars: [Unicode.Scalar], id: Int)]

    private let basic = BasicTokenizer()

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
        // MiniLM's is 231 KB, multilingual BERT's under 1 MB; 64 MB is far more than any needs.
        guard let bytes = try MappedFile.contents(of: path, limit: 64 << 20) else {
            throw AttnError.fileUnreadable(path: path, reason: "there is no such file")
        }
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
        self.init(checkedVocabulary: tokens)
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

    private init(checkedVocabulary tokens: [String]) {
        vocabulary = tokens
        var ids: [TokenKey: Int] = [:]
        ids.reserveCapacity(tokens.count)
        // A token listed twice keeps its last id, as in Hugging Face's reader.
        for (id, token) in tokens.enumerated() { ids[TokenKey(token)] = id }
        idsByToken = ids

        // `problem(with:)` has checked that the required tokens are present.
        clsId = ids[TokenKey("[CLS]")] ?? 0
        sepId = ids[TokenKey("[SEP]")] ?? 0
        unkId = ids[TokenKey("[UNK]")] ?? 0
        padId = ids[TokenKey("[PAD]")] ?? 0

        // Longest first, so that the first token found at a position is the longest one there.
        specialTokens = (Self.requiredSpecialTokens + Self.optionalSpecialTokens)
            .compactMap { token in
                ids[TokenKey(token)].map { (scalars: Array(token.unicodeScalars), id: $0) }
            }
            .sorted { $0.scalars.count > $1.scalars.count }
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
    ///     stand for themselves.
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
            throw AttnError.sequenceTooLong(tokens: ids.count, limit: limit)
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
