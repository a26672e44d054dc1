/// A SentencePiece BPE tokenizer (Gemma's kind): text → characters, a space spelled "▁" → merges
/// of neighbouring tokens into longer tokens → ids; a character the vocabulary lacks becomes one
/// token per UTF-8 byte, `<0xXX>`.
///
/// It is the tokenizer Hugging Face transformers builds from a Gemma GGUF file (a `GemmaTokenizer`,
/// run by `tokenizers`), which holds tokens, scores and types but no merges:
/// ```
/// added tokens   cut out of the raw text whole, leftmost first, longest at a position:
///                every control token (<bos>, <start_of_turn>, …) and every user-defined one
///                ("\n", "\n\n", "\t", "<table>", …, but not the runs of spaces, see below)
/// normalizer     " " → "▁" (U+2581); no space in front, no other normalization
/// pre-tokenizer  Split on " ", a no-op: the normalizer has left none
/// BPE            each piece of text between added tokens is one word, cut into characters;
///                a character that is not a token becomes its bytes' tokens, <0xE4> <0xB8> …
///                then merges, as below
/// ids            the symbols left; encode adds no BOS (addsBeginningToken says the model wants one)
/// ```
///
/// The merges. transformers rebuilds them from the vocabulary (`generate_merges`): every way to
/// cut a token into two tokens is a merge, and the merges are ranked by the id of the token they
/// make, lower ids first, then by the longer left part (in code points). The file's scores are not
/// used: Gemma's do not follow its merge order (ranking by score would differ on 11 of 801 texts
/// of the test corpus, all with runs of spaces). The merging itself is `tokenizers`' `merge_all`,
/// as in `BPETokenizer`: repeatedly merge the best-ranked neighbouring pair, the leftmost of equal
/// ones. Since a pair's rank follows from its two tokens, no merge list is built:
/// ```
/// rank(left, right) = (id(left + right), −length(left))   if left + right is a token, else none
///
/// "Hello world"  →  H e l l o ▁ w o r l d
///   o+r → or (504)       ▁+w → ▁w (515)      e+l → el (535)        l+d → ld (671)
///   el+l → ell (713)     ▁w+or → ▁wor (1462) ▁wor+ld → ▁world (1902)
///   ell+o → ello (4327)  H+ello → Hello (9259)
///   → [9259, 1902]
/// ```
/// Gemma stores its 30 tokens of 2…31 spaces with real spaces; transformers respells each as
/// "▁▁"… (a token of whitespace holding a space becomes that many "▁"), so that BPE reaches them
/// by merging "▁"s: `"a  b"` is `a`, `▁▁`, `b`.
///
/// Decoding (`tokenizers`' Replace, ByteFallback and Fuse decoders) turns "▁" back into a space and
/// a run of byte tokens into its bytes read as UTF-8, or, when they are not valid UTF-8, into one
/// U+FFFD per byte token of the run.
///
/// `init(huggingFaceDirectory:)` reads the same pipeline from a checkpoint's tokenizer.json, whose
/// merges are listed and ranked by their order there, and Llama 2's variant of it, which puts a
/// "▁" before each piece of text and strips one space when decoding.
///
/// The output matches Hugging Face id for id; the test suite checks that against a fixture of
/// 949 texts for Gemma 3 (Tests/Reference/gemma3_tokenizer.py) and of 388 for two tiny
/// tokenizer.json files (tiny_sentencepiece.py).
public struct SentencePieceTokenizer: Sendable {
    /// The tokens as the file stores them: `vocabulary[id]`, with "▁" for a space (`"▁Paris"`),
    /// `"<0xE4>"` for byte tokens, and Gemma's runs of spaces as real spaces.
    public let vocabulary: [String]
    /// The id the model expects at the start of a text (`<bos>`, 2 for Gemma).
    public let bosId: Int?
    /// The id that ends a text (`<eos>`, 1 for Gemma).
    public let eosId: Int?
    /// Whether the model expects `bosId` before every text (`tokenizer.ggml.add_bos_token`), as
    /// Hugging Face's tokenizer adds it by default. `encode` never adds it.
    public let addsBeginningToken: Bool

    /// The tokens as transformers spells them (runs of spaces as "▁"s), with their index.
    private let pieces: PackedVocabulary
    /// Whether each token is a control token (type 3), shown as it is written.
    private let isControl: [Bool]
    /// The byte each token stands for in decoding, if it looks like `<0xXX>`; else -1.
    private let byteValues: [Int16]
    /// The id of each byte's token `<0xXX>`, or -1.
    private let byteIds: [Int32]
    /// The id of each ASCII character as a one-character token (the space as "▁"), or -1.
    private let asciiIds: [Int32]
    /// The id of the token for characters that neither are tokens nor have byte tokens, or -1.
    private let unknownId: Int32
    /// Control and user-defined tokens, matched whole in the raw text.
    private let addedTokens: TokenTrie
    /// The merges a tokenizer.json lists: each pair → its rank (its index in the list) and the id
    /// it makes. `nil` for a Gemma GGUF, whose ranks follow from the ids (see `merge`).
    private let mergeTable: [BytePair: (rank: Int32, merged: Int32)]?
    /// Whether each piece of text between added tokens starts with "▁" (Llama 2's normalizer,
    /// `Prepend("▁")`).
    private let prependsSpace: Bool
    /// Whether decoding drops one space at the start of the text (Llama 2's `Strip` decoder),
    /// the one `prependsSpace` put there.
    private let stripsLeadingSpace: Bool

    /// Tokens whose text is made only of spaces and other whitespace: transformers spells each
    /// of their characters "▁". These are the characters for which Python's `str.isspace()` holds.
    private static let whitespace: Set<UInt32> = [
        0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
        0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
        0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
    ]
    /// "▁" in UTF-8.
    private static let metaspace: [UInt8] = [0xE2, 0x96, 0x81]
    /// The architectures for which transformers builds this tokenizer from a GGUF file.
    static let architectures = ["gemma", "gemma2", "gemma3"]

    // MARK: - Loading

    /// A tokenizer from the arrays of a GGUF file's `tokenizer.ggml.*` metadata.
    ///
    /// - Parameters:
    ///   - tokens: `tokenizer.ggml.tokens`; the id of a token is its index, and the lower the id,
    ///     the earlier the merges that make the token.
    ///   - tokenTypes: `tokenizer.ggml.token_type`, one per token, llama.cpp's 0…6: 1 normal,
    ///     2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. Control and user-defined tokens
    ///     written in the text stand for themselves; without types, none do.
    ///   - bosId, eosId, unknownId: `tokenizer.ggml.bos_token_id`, `eos_token_id`,
    ///     `unknown_token_id`.
    ///   - addsBeginningToken: `tokenizer.ggml.add_bos_token`.
    ///   - source: where the arrays come from, for error messages.
    /// - Throws: `AttnError.vocabularyInvalid` when there are no tokens (or more than 2³¹, or more
    ///   than 2³¹ bytes of them), the types do not match the
    ///   tokens one for one or one is outside 0…6, an id is outside the vocabulary, a token is
    ///   listed twice (as transformers spells it), a control token is made of spaces, a BOS is asked
    ///   for without an id, or a byte has no token `<0xXX>` and there is no unknown token.
    public init(tokens: [String], tokenTypes: [Int]?, bosId: Int?, eosId: Int?, unknownId: Int?,
                addsBeginningToken: Bool, source: String = "the tokenizer metadata") throws {
        try self.init(tokens: tokens, tokenTypes: tokenTypes, bosId: bosId, eosId: eosId, unknownId: unknownId,
                      addsBeginningToken: addsBeginningToken, source: source, respellsSpaces: true,
                      merges: nil, prependsSpace: false, stripsLeadingSpace: false)
    }

    /// The designated initializer's work, with what only a tokenizer.json has: listed merges, and
    /// Llama 2's space in front. A GGUF's runs of spaces are respelled; a tokenizer.json's are not.
    private init(tokens: [String], tokenTypes: [Int]?, bosId: Int?, eosId: Int?, unknownId: Int?,
                 addsBeginningToken: Bool, source: String, respellsSpaces: Bool, merges: [(String, String)]?,
                 prependsSpace: Bool, stripsLeadingSpace: Bool) throws {
        func invalid(_ reason: String) -> AttnError { .vocabularyInvalid(path: source, reason: reason) }

        guard !tokens.isEmpty else { throw invalid("it has no tokens") }
        guard tokens.count < Int(Int32.max) else { throw invalid("it has \(tokens.count) tokens, more than 2³¹") }
        if let tokenTypes {
            guard tokenTypes.count == tokens.count else {
                throw invalid("it has \(tokenTypes.count) token types for \(tokens.count) tokens")
            }
            if let id = tokenTypes.firstIndex(where: { !(0...6).contains($0) }) {
                throw invalid("""
                    token \(id) has type \(tokenTypes[id]); llama.cpp's types are 0…6 (1 normal, \
                    2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte)
                    """)
            }
        }
        for (name, id) in [("BOS", bosId), ("EOS", eosId), ("unknown", unknownId)] {
            if let id, !tokens.indices.contains(id) {
                throw invalid("its \(name) token id \(id) is not in 0..<\(tokens.count)")
            }
        }
        if addsBeginningToken, bosId == nil {
            throw invalid("it asks for a BOS token before every text (add_bos_token) but names none (bos_token_id)")
        }

        // Every token's bytes, back to back, runs of spaces respelled as transformers does, and
        // what each stands for in decoding: one pass, without a String or an array per token.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.count * 12)
        var starts: [Int] = [0]
        starts.reserveCapacity(tokens.count + 1)
        var byteValues = [Int16](repeating: -1, count: tokens.count)
        var respelled: [Int] = []
        for (id, token) in tokens.enumerated() {
            let start = bytes.count
            if token.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
                bytes.append(contentsOf: token.utf8)
            }
            if respellsSpaces, bytes[start...].contains(0x20), let length = Self.whitespaceLength(token) {
                bytes.removeSubrange(start...)
                for _ in 0..<length { bytes += Self.metaspace }
                respelled.append(id)
            }
            if bytes.count - start == 6 { byteValues[id] = Self.byteValue(bytes[start...]) }
            starts.append(bytes.count)
        }
        // The trie of added tokens numbers its nodes in 32 bits.
        guard bytes.count < Int(Int32.max) else { throw invalid("its tokens hold \(bytes.count) bytes, more than 2³¹") }
        let pieces = PackedVocabulary(bytes: bytes, starts: starts)
        if let (first, second) = pieces.duplicate {
            let spelled = String(decoding: pieces.tokenBytes(second), as: UTF8.self)
            let how = tokens[first] == tokens[second] ? "" : " as transformers spells them (runs of spaces as ▁)"
            throw invalid("tokens \(first) and \(second) are both \(JSONValue.quoted(spelled))\(how); attn needs each token once")
        }

        let types = tokenTypes ?? []
        func type(_ id: Int) -> Int { types.indices.contains(id) ? types[id] : 1 }
        if let id = respelled.first(where: { type($0) == 3 }) {
            throw invalid("""
                control token \(id) is made of spaces, which transformers adds as a new token \
                after the vocabulary; attn does not reproduce that
                """)
        }
        // Control tokens, and the user-defined ones transformers finds in its vocabulary as spelled.
        let respelledSet = Set(respelled)
        var added: [(bytes: ArraySlice<UInt8>, id: Int)] = []
        for id in types.indices where types[id] == 3 || (types[id] == 4 && !respelledSet.contains(id)) {
            added.append((pieces.tokenBytes(id), id))
        }

        var byteIds = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 { byteIds[byte] = pieces.id(of: Self.byteTokenName(UInt8(byte))) }
        if unknownId == nil, let byte = byteIds.firstIndex(of: -1) {
            throw invalid("""
                it has no token \(Self.byteTokenName(UInt8(byte))) and no unknown token \
                (unknown_token_id), so some text could not be encoded
                """)
        }

        var mergeTable: [BytePair: (rank: Int32, merged: Int32)]?
        if let merges {
            guard merges.count < Int(Int32.max) else { throw invalid("it has \(merges.count) merges, more than 2³¹") }
            var table: [BytePair: (rank: Int32, merged: Int32)] = [:]
            table.reserveCapacity(merges.count)
            for (rank, (left, right)) in merges.enumerated() {
                let pair = "merge \(rank) (\(JSONValue.quoted(left)) \(JSONValue.quoted(right)))"
                for part in [left, right] where pieces.id(of: part) < 0 {
                    throw invalid("\(pair) names \(JSONValue.quoted(part)), which is not a token")
                }
                let merged = pieces.id(of: left + right)
                guard merged >= 0 else {
                    throw invalid("\(pair) makes \(JSONValue.quoted(left + right)), which is not a token")
                }
                // A pair listed twice keeps its last rank, as in `tokenizers`.
                table[BytePair(left: pieces.id(of: left), right: pieces.id(of: right))] = (Int32(rank), merged)
            }
            mergeTable = table
        }

        var asciiIds = [Int32](repeating: -1, count: 128)
        for byte in 0..<128 {
            let character = byte == 0x20 ? Self.metaspace : [UInt8(byte)]
            asciiIds[byte] = character.withUnsafeBufferPointer { pieces.id(of: $0) }
        }

        vocabulary = tokens
        self.bosId = bosId
        self.eosId = eosId
        self.addsBeginningToken = addsBeginningToken
        self.pieces = pieces
        isControl = tokens.indices.map { type($0) == 3 }
        self.byteValues = byteValues
        self.byteIds = byteIds
        self.asciiIds = asciiIds
        self.unknownId = unknownId.map { Int32($0) } ?? -1
        addedTokens = TokenTrie(added)
        self.mergeTable = mergeTable
        self.prependsSpace = prependsSpace
        self.stripsLeadingSpace = stripsLeadingSpace
    }

    /// The tokenizer of a Gemma GGUF file: its `tokenizer.ggml.*` metadata, read as transformers
    /// reads it.
    ///
    /// - Throws: `AttnError.vocabularyInvalid` naming the file when its tokenizer is not
    ///   SentencePiece (`tokenizer.ggml.model` other than `"llama"`), its architecture is not Gemma's
    ///   (transformers builds another tokenizer for those), it lists merges, asks for another
    ///   pre-tokenizer or a space before the text, a key it needs is missing or has the wrong type,
    ///   the scores do not match the tokens one for one, or the arrays are unusable (see the
    ///   designated initializer).
    public init(gguf file: GGUFFile) throws {
        let metadata = file.metadata
        func invalid(_ reason: String) -> AttnError { .vocabularyInvalid(path: file.path, reason: reason) }
        func optionalFlag(_ key: String) throws -> Bool? {
            guard let value = metadata[key] else { return nil }
            guard case let .bool(flag) = value else { throw invalid("\(key) is not true or false") }
            return flag
        }

        guard let model = metadata["tokenizer.ggml.model"]?.string else {
            throw invalid("it has no tokenizer.ggml.model")
        }
        guard model == "llama" else {
            throw invalid("its tokenizer is \"\(model)\", not SentencePiece (\"llama\")")
        }
        let architecture = metadata["general.architecture"]?.string
        guard let architecture, Self.architectures.contains(architecture) else {
            let named = architecture.map { "its architecture is \"\($0)\"" } ?? "it names no architecture (general.architecture)"
            throw invalid("""
                \(named): attn reproduces the SentencePiece tokenizer transformers builds for \
                \(Self.architectures.joined(separator: ", ")) only
                """)
        }
        if metadata["tokenizer.ggml.merges"] != nil {
            throw invalid("it lists merges (tokenizer.ggml.merges); attn derives Gemma's merges from the token order, as transformers does when there are none")
        }
        if let value = metadata["tokenizer.ggml.pre"], value.string != "default" {
            throw invalid("its pre-tokenizer (tokenizer.ggml.pre) is \(value.string.map { "\"\($0)\"" } ?? "not a string"); attn reads \"default\"")
        }
        if try optionalFlag("tokenizer.ggml.add_space_prefix") == true {
            throw invalid("it asks for a space before the text (add_space_prefix), which transformers does not add for Gemma; attn does not choose between them")
        }
        guard let tokens = metadata["tokenizer.ggml.tokens"]?.strings else {
            throw invalid("tokenizer.ggml.tokens is missing or not a list of strings")
        }
        guard !tokens.isEmpty else { throw invalid("it has no tokens") }
        guard let scores = metadata["tokenizer.ggml.scores"] else {
            throw invalid("it has no tokenizer.ggml.scores")
        }
        guard case let .array(scoreValues) = scores, scoreValues.allSatisfy(\.isNumber) else {
            throw invalid("tokenizer.ggml.scores is not a list of numbers")
        }
        guard scoreValues.count == tokens.count else {
            throw invalid("it has \(scoreValues.count) scores for \(tokens.count) tokens")
        }
        var tokenTypes: [Int]?
        if let value = metadata["tokenizer.ggml.token_type"] {
            guard let types = value.ints else { throw invalid("tokenizer.ggml.token_type is not a list of integers") }
            tokenTypes = types
        }
        if let padding = try file.tokenizerInt("tokenizer.ggml.padding_token_id"), !tokens.indices.contains(padding) {
            throw invalid("its padding token id \(padding) is not in 0..<\(tokens.count)")
        }
        // transformers assumes a BOS for SentencePiece files that do not say, as llama.cpp does.
        try self.init(tokens: tokens, tokenTypes: tokenTypes,
                      bosId: try file.tokenizerInt("tokenizer.ggml.bos_token_id"),
                      eosId: try file.tokenizerInt("tokenizer.ggml.eos_token_id"),
                      unknownId: try file.tokenizerInt("tokenizer.ggml.unknown_token_id"),
                      addsBeginningToken: try optionalFlag("tokenizer.ggml.add_bos_token") ?? true,
                      source: file.path)
    }

    // MARK: - Loading a Hugging Face checkpoint

    /// The tokenizer of a Hugging Face SentencePiece BPE checkpoint (Llama 2, Gemma): its
    /// `tokenizer.json`.
    ///
    /// ```
    /// model            BPE with byte_fallback and fuse_unk; merges as "a b" or ["a", "b"], ranked
    ///                  by their order in the file
    /// normalizer       Replace(" ", "▁")                       Gemma
    ///                  Sequence[Prepend("▁"), Replace(" ", "▁")]  Llama 2: each piece of text
    ///                                                          between added tokens starts with ▁
    /// pre_tokenizer    none, or Split(" ", merged_with_previous), which finds no " " left
    /// decoder          Sequence[Replace("▁", " "), ByteFallback, Fuse], and Strip(" ", 1, 0)
    ///                  after them when the normalizer prepends
    /// post_processor   none, or TemplateProcessing adding at most a BOS: "<s> $A"
    /// added_tokens     matched whole in the raw text (normalized: false); special ones are
    ///                  control tokens
    /// ```
    /// `bosId` is the token the template adds, `addsBeginningToken` whether it adds one; `eosId` is
    /// the id of `</s>` or `<eos>`, if the vocabulary has either.
    /// - Parameter directory: the checkpoint's directory (a snapshot of the Hugging Face cache).
    /// - Throws: `AttnError.fileUnreadable` when there is no tokenizer.json or it cannot be read;
    ///   `AttnError.vocabularyInvalid` naming the file and the setting when it is malformed or asks
    ///   for something attn does not reproduce exactly (another model or pipeline step, Metaspace,
    ///   no byte fallback, unfused unknowns, dropout, a template that adds more than a BOS, added
    ///   tokens matched in the normalized text), in one sentence.
    public init(huggingFaceDirectory directory: String) throws {
        guard let json = try TokenizerJSON(directory: directory, modelType: "BPE") else {
            throw AttnError.fileUnreadable(path: directory + "/tokenizer.json", reason: "there is no such file")
        }
        let model = json.model
        try json.refuseBPEVariations(kind: "SentencePiece BPE")
        if try model["ignore_merges"].bool(default: false) {
            throw json.root.invalid("its model has ignore_merges: true, which attn does not reproduce")
        }
        for key in ["byte_fallback", "fuse_unk"] where try !model[key].bool(default: false) {
            throw json.root.invalid("its model has \(key): false; attn reads SentencePiece's true")
        }
        let vocabulary = json.vocabulary
        // Compared byte for byte, as `tokenizers` does (see `TokenKey`).
        func id(_ token: String) -> Int? { vocabulary.lastIndex { $0.utf8.elementsEqual(token.utf8) } }
        var unknownId: Int?
        if let unknown = try model["unk_token"].optionalString() {
            guard let unknown = id(unknown) else {
                throw json.root.invalid("its unk_token \(JSONValue.quoted(unknown)) is not in its vocabulary")
            }
            unknownId = unknown
        }
        let merges = try Self.mergePairs(model["merges"])
        let prependsSpace = try Self.normalizerPrepends(json)
        try Self.checkPreTokenizer(json)
        let stripsLeadingSpace = try Self.decoderStrips(json)
        guard stripsLeadingSpace == prependsSpace else {
            throw json.root.invalid(prependsSpace
                ? "its normalizer prepends ▁ but its decoder does not strip the space; attn reads both or neither"
                : "its decoder strips a leading space the normalizer does not prepend; attn reads both or neither")
        }
        try json.checkAddedTokensMatchInRawText(normalizes: true)
        let beginning = try Self.templateBeginning(json)
        var bosId: Int?
        if let beginning {
            guard let found = id(beginning) else {
                throw json.root.invalid("its post-processor adds \(JSONValue.quoted(beginning)), which is not in its vocabulary")
            }
            bosId = found
        }

        var types = [Int](repeating: 1, count: vocabulary.count)
        for token in json.addedTokens { types[token.id] = token.special ? 3 : 4 }
        try self.init(tokens: vocabulary, tokenTypes: types, bosId: bosId, eosId: id("</s>") ?? id("<eos>"),
                      unknownId: unknownId, addsBeginningToken: bosId != nil, source: json.path,
                      respellsSpaces: false, merges: merges, prependsSpace: prependsSpace,
                      stripsLeadingSpace: stripsLeadingSpace)
    }

    /// `model.merges` as pairs, from either form `tokenizers` writes: `"a b"` or `["a", "b"]`.
    private static func mergePairs(_ merges: JSONValue) throws -> [(String, String)] {
        try merges.array().map { merge in
            if merge.isString {
                let parts = try merge.string().split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw merge.invalid("\(merge.name) is not two tokens separated by a space") }
                return (String(parts[0]), String(parts[1]))
            }
            let pair = try merge.array()
            guard pair.count == 2 else { throw merge.invalid("\(merge.name) is not a pair of tokens") }
            return (try pair[0].string(), try pair[1].string())
        }
    }

    /// Whether the normalizer is Llama 2's, which puts "▁" in front, or Gemma's, which does not.
    private static func normalizerPrepends(_ json: TokenizerJSON) throws -> Bool {
        let known = "Replace(\" \", \"▁\"), alone or after Prepend(\"▁\")"
        func isReplace(_ stage: JSONValue) throws -> Bool {
            try stage["type"].string() == "Replace" && stage["pattern"]["String"].optionalString() == " "
                && stage["content"].string() == "▁"
        }
        let stage = try json.root["normalizer"]
        switch try json.stageType("normalizer") {
        case "Replace" where try isReplace(stage):
            return false
        case "Sequence":
            let steps = try stage["normalizers"].array()
            if steps.count == 2, try steps[0]["type"].string() == "Prepend", try steps[0]["prepend"].string() == "▁",
               try isReplace(steps[1]) {
                return true
            }
            let types = try steps.map { try $0["type"].string() }
            throw json.unsupported("normalizer", "Sequence[\(types.joined(separator: ", "))]", reads: known)
        case let other:
            throw json.unsupported("normalizer", other, reads: known)
        }
    }

    /// No pre-tokenizer, or Gemma's Split on " ", which finds nothing once the normalizer has run.
    private static func checkPreTokenizer(_ json: TokenizerJSON) throws {
        let stage = try json.root["pre_tokenizer"]
        switch try json.stageType("pre_tokenizer") {
        case nil:
            return
        case "Split" where try stage["pattern"]["String"].optionalString() == " "
                         && stage["behavior"].string() == "MergedWithPrevious" && !stage["invert"].bool(default: false):
            return
        case let other:
            throw json.unsupported("pre-tokenizer", other, reads: "none, or Split(\" \", merged_with_previous)")
        }
    }

    /// Whether the decoder ends with Llama 2's Strip of one leading space; the steps before it must
    /// be Replace("▁", " "), ByteFallback and Fuse.
    private static func decoderStrips(_ json: TokenizerJSON) throws -> Bool {
        let known = "Sequence[Replace(\"▁\", \" \"), ByteFallback, Fuse], then Strip(\" \", 1, 0) or not"
        guard try json.stageType("decoder") == "Sequence" else {
            throw json.unsupported("decoder", try json.stageType("decoder"), reads: known)
        }
        let steps = try json.root["decoder"]["decoders"].array()
        let types = try steps.map { try $0["type"].string() }
        let replaces = try steps.first.map { try $0["pattern"]["String"].optionalString() == "▁" && $0["content"].string() == " " }
        guard types.starts(with: ["Replace", "ByteFallback", "Fuse"]), replaces == true,
              types.count == 3 || types == ["Replace", "ByteFallback", "Fuse", "Strip"] else {
            throw json.unsupported("decoder", "Sequence[\(types.joined(separator: ", "))]", reads: known)
        }
        guard types.count == 4 else { return false }
        let strip = steps[3]
        guard try strip["content"].string() == " ", try strip["start"].index() == 1, try strip["stop"].index() == 0 else {
            throw json.root.invalid("its Strip decoder is not Strip(\" \", 1, 0), which attn reads")
        }
        return true
    }

    /// The token the post-processor adds before the text, if any: none, or a template
    /// `<s> $A` / `$A`.
    private static func templateBeginning(_ json: TokenizerJSON) throws -> String? {
        let known = "none, or a template adding at most a BOS before the text"
        switch try json.stageType("post_processor") {
        case nil:
            return nil
        case "TemplateProcessing":
            let single = try json.root["post_processor"]["single"].array()
            let isText = { (piece: JSONValue) in try piece["Sequence"]["id"].optionalString() == "A" }
            if single.count == 1, try isText(single[0]) { return nil }
            if single.count == 2, try isText(single[1]), let token = try single[0]["SpecialToken"]["id"].optionalString() {
                return token
            }
            throw json.unsupported("post-processor", "TemplateProcessing adding other tokens", reads: known)
        case let other:
            throw json.unsupported("post-processor", other, reads: known)
        }
    }

    /// The number of characters of `token` if they are all whitespace and one is a space (Python's
    /// `" " in t and not t.strip()`), else `nil`.
    private static func whitespaceLength(_ token: String) -> Int? {
        var count = 0
        var space = false
        for scalar in token.unicodeScalars {
            guard whitespace.contains(scalar.value) else { return nil }
            count += 1
            space = space || scalar == " "
        }
        return space ? count : nil
    }

    /// The byte fallback token of `byte`: `<0x0A>`, `<0xE4>`.
    private static func byteTokenName(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "<0x" + (byte < 0x10 ? "0" : "") + hex + ">"
    }

    /// The byte a token stands for in `tokenizers`' ByteFallback decoder, or -1: six bytes,
    /// `<0x`, two hex digits (either case, or `+` and one digit, as Rust's `u8::from_str_radix`
    /// reads them), `>`.
    private static func byteValue(_ token: ArraySlice<UInt8>) -> Int16 {
        guard token.count == 6, token.starts(with: [0x3C, 0x30, 0x78]), token.last == 0x3E else { return -1 }
        func digit(_ byte: UInt8) -> Int16? {
            switch byte {
            case 0x30...0x39: Int16(byte - 0x30)
            case 0x41...0x46: Int16(byte - 0x41 + 10)
            case 0x61...0x66: Int16(byte - 0x61 + 10)
            default: nil
            }
        }
        let high = token[token.startIndex + 3], low = token[token.startIndex + 4]
        guard let lowDigit = digit(low) else { return -1 }
        if high == 0x2B { return lowDigit }  // "+"
        guard let highDigit = digit(high) else { return -1 }
        return highDigit * 16 + lowDigit
    }

    // MARK: - Lookup

    /// The id of `token`, spelled as the file stores it (`"▁Paris"`, `"<start_of_turn>"`, `"  "`)
    /// or as transformers does (`"▁▁"` for two spaces), or `nil`.
    public func id(of token: String) -> Int? {
        let id = pieces.id(of: token)
        if id >= 0 { return Int(id) }
        guard token.utf8.contains(0x20), let length = Self.whitespaceLength(token) else { return nil }
        let respelled = pieces.id(of: String(repeating: "▁", count: length))
        return respelled >= 0 ? Int(respelled) : nil
    }

    /// A token as a learner should see it: "▁" as a space, so `"▁Paris"` reads `" Paris"`; control
    /// tokens such as `"<start_of_turn>"` as they are written.
    ///
    /// A byte token stands for one byte of a character's UTF-8; unless that byte is a whole
    /// character (ASCII), it is shown as it is written:
    /// ```
    /// tokenText(9079)   →  " Paris"       (the token "▁Paris")
    /// tokenText(248)    →  "\n"           (the token "<0x0A>")
    /// tokenText(466)    →  "<0xE4>"       (the first byte of 中 and many other ideographs)
    /// ```
    /// - Returns: the text; `""` for an id outside the vocabulary.
    public func tokenText(_ id: Int) -> String {
        guard vocabulary.indices.contains(id) else { return "" }
        if isControl[id] { return vocabulary[id] }
        let byte = byteValues[id]
        if byte >= 0 {
            return byte < 0x80 ? String(Character(Unicode.Scalar(UInt8(byte)))) : Self.byteTokenName(UInt8(byte))
        }
        var bytes: [UInt8] = []
        appendText(of: id, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Token `id` as a label: ``BPETokenizer/visible(_:)`` of its text, so `" Paris"` is `·Paris`.
    public func label(_ id: Int) -> String { BPETokenizer.visible(tokenText(id)) }

    // MARK: - Encoding

    /// The ids of `text`. No BOS is added (see `addsBeginningToken`).
    ///
    /// ```
    /// encode("Hello, world!")                  →  [9259, 236764, 1902, 236888]
    /// encode("<start_of_turn>user\nHi")        →  [105, 2364, 107, 10979]
    /// ```
    /// Control and user-defined tokens written in the text (`<start_of_turn>`, `<eos>`, `\n`,
    /// `<table>`, …) stand for themselves, matched exactly, leftmost first and longest at a
    /// position; the text between them is encoded on its own.
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { utf8 in
            var ids: [Int] = []
            var scratch: [UInt8] = []
            var plainStart = 0
            var position = 0
            while position < utf8.count {
                if let match = addedTokens.longestMatch(in: utf8, at: position) {
                    encodePlain(utf8, plainStart..<position, into: &ids, scratch: &scratch)
                    ids.append(match.id)
                    position += match.length
                    plainStart = position
                } else {
                    position += 1
                }
            }
            encodePlain(utf8, plainStart..<utf8.count, into: &ids, scratch: &scratch)
            return ids
        }
    }

    /// Text without added tokens: characters (a space as "▁") → symbols → merges.
    private func encodePlain(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into ids: inout [Int],
                             scratch: inout [UInt8]) {
        guard !range.isEmpty else { return }
        var symbols: [Symbol] = []
        symbols.reserveCapacity(range.count)
        func add(_ id: Int32) {
            let index = Int32(symbols.count)
            symbols.append(Symbol(id: id, previous: index - 1, next: index + 1))
        }

        // `tokenizers`' `merge_word`: an unknown character's <unk> waits until the next character
        // that is a token (or the end), so that unknown characters next to each other share one
        // (fuse_unk); characters spelled in byte tokens meanwhile go in at once.
        var unknownPending = false
        func add(character id: Int32, _ character: @autoclosure () -> ArraySlice<UInt8>) {
            if id >= 0 {
                if unknownPending { add(unknownId) }
                unknownPending = false
                add(id)
                return
            }
            let character = character()
            if character.allSatisfy({ byteIds[Int($0)] >= 0 }) {
                for byte in character { add(byteIds[Int(byte)]) }
            } else if unknownId >= 0 {
                unknownPending = true
            }
        }
        // The normalizer's work: a space is "▁" (the ASCII table holds "▁"'s id for it), and for
        // Llama 2 each piece starts with one.
        if prependsSpace { add(character: asciiIds[0x20], Self.metaspace[...]) }
        var start = range.lowerBound
        while start < range.upperBound {
            let lead = text[start]
            let end = min(range.upperBound, start + max(1, UTF8Validation.expectedLength(lead)))
            let character = UnsafeBufferPointer(rebasing: text[start..<end])
            let id = lead < 0x80 ? asciiIds[Int(lead)] : pieces.id(of: character)
            add(character: id, lead == 0x20 ? Self.metaspace[...] : ArraySlice(character))
            start = end
        }
        if unknownPending { add(unknownId) }
        guard !symbols.isEmpty else { return }
        symbols[symbols.count - 1].next = -1

        var queue = MergeQueue()
        for position in 0..<symbols.count - 1 {
            if let (rank, merged) = merge(symbols[position].id, symbols[position + 1].id, scratch: &scratch) {
                queue.push(Candidate(rank: rank, position: Int32(position), merged: merged))
            }
        }
        // As `BPETokenizer.bpe`: take the best candidate; if its pair is still there, merge it and
        // queue the pairs the new symbol forms with its neighbours.
        while let top = queue.pop() {
            let position = Int(top.position)
            guard !symbols[position].removed, symbols[position].next >= 0 else { continue }
            let nextPosition = Int(symbols[position].next)
            let right = symbols[nextPosition]
            guard let (_, merged) = merge(symbols[position].id, right.id, scratch: &scratch),
                  merged == top.merged else { continue }

            symbols[position].id = merged
            symbols[position].next = right.next
            symbols[nextPosition].removed = true
            if right.next >= 0 { symbols[Int(right.next)].previous = Int32(position) }

            let previous = symbols[position].previous
            if previous >= 0, let (rank, merged) = merge(symbols[Int(previous)].id, merged, scratch: &scratch) {
                queue.push(Candidate(rank: rank, position: previous, merged: merged))
            }
            let next = symbols[position].next
            if next >= 0, let (rank, merged) = merge(merged, symbols[Int(next)].id, scratch: &scratch) {
                queue.push(Candidate(rank: rank, position: Int32(position), merged: merged))
            }
        }
        for symbol in symbols where !symbol.removed { ids.append(Int(symbol.id)) }
    }

    /// The rank of the merge of `left` and `right`, and the id it makes: from the listed merges,
    /// or else, if their text together is a token, `(id(left + right), −length(left))` packed into
    /// one number, lower first.
    private func merge(_ left: Int32, _ right: Int32, scratch: inout [UInt8]) -> (rank: Int64, merged: Int32)? {
        if let mergeTable {
            return mergeTable[BytePair(left: left, right: right)].map { (Int64($0.rank), $0.merged) }
        }
        let leftBytes = pieces.tokenBytes(Int(left))
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: leftBytes)
        scratch.append(contentsOf: pieces.tokenBytes(Int(right)))
        let merged = scratch.withUnsafeBufferPointer { pieces.id(of: $0) }
        guard merged >= 0 else { return nil }
        // The left part's length in code points: its bytes that are not UTF-8 continuation bytes.
        var length: Int64 = 0
        for byte in leftBytes where byte & 0xC0 != 0x80 { length += 1 }
        return (Int64(merged) << 32 + (Int64(UInt32.max) - min(length, Int64(UInt32.max))), merged)
    }

    // MARK: - Decoding

    /// The text of `ids`, as Hugging Face decodes it (special tokens kept).
    ///
    /// ```
    /// decode([2, 9079])                   →  "<bos> Paris"
    /// decode([466, 422, 411])             →  "中"        (<0xE4> <0xB8> <0xAD>)
    /// decode([466, 422, 236746])          →  "��a"       (a broken run of bytes: U+FFFD per byte)
    /// ```
    /// "▁" becomes a space; control tokens decode as their text; a run of byte tokens becomes its
    /// bytes read as UTF-8 if they are valid UTF-8, else one U+FFFD per byte token of the run, as
    /// `tokenizers`' ByteFallback decoder does. Ids outside the vocabulary are skipped, as Hugging
    /// Face skips them, even inside a run of byte tokens.
    public func decode(_ ids: [Int]) -> String {
        var stream = StreamDecoder(tokenizer: self)
        var bytes: [UInt8] = []
        for id in ids { stream.push(id, to: &bytes) }
        stream.finish(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The UTF-8 of token `id`'s text in decoding: its bytes with "▁" as a space.
    private func appendText(of id: Int, to bytes: inout [UInt8]) {
        let token = pieces.tokenBytes(id)
        var index = token.startIndex
        while index < token.endIndex {
            if token[index] == 0xE2, token[index...].starts(with: Self.metaspace) {
                bytes.append(0x20)
                index += 3
            } else {
                bytes.append(token[index])
                index += 1
            }
        }
    }

    /// Decodes ids one at a time, as a model generates them.
    ///
    /// ```
    /// 🀀 (U+1F000) is F0 9F 80 80, four byte tokens for Gemma; then " ok"
    /// var stream = SentencePieceTokenizer.StreamDecoder(tokenizer: tokenizer)
    /// stream.push(478)     →  ""          (<0xF0>)
    /// stream.push(397)     →  ""          (<0x9F>)
    /// stream.push(366)     →  ""          (<0x80>)
    /// stream.push(366)     →  ""          (<0x80>)
    /// stream.push(7546)    →  "🀀 ok"     (▁ok)
    /// stream.finish()      →  ""
    /// ```
    /// A run of byte tokens is held back until a token that is not one ends it (or `finish()`):
    /// the decoder reads the whole run as UTF-8 or, if it is not, gives U+FFFD for each of its
    /// bytes, so a later byte can change what the earlier ones decode to. What the pushes and
    /// `finish()` return, joined, is `decode` of all the ids.
    public struct StreamDecoder: TokenStream {
        private let tokenizer: SentencePieceTokenizer
        /// The bytes of the run of byte tokens not decoded yet.
        private var run: [UInt8] = []
        /// Whether any text has come out (after which no space is stripped).
        private var started = false

        /// A decoder with nothing pushed yet.
        public init(tokenizer: SentencePieceTokenizer) {
            self.tokenizer = tokenizer
        }

        /// The text that `id` completes: `""` while a run of byte tokens goes on.
        public mutating func push(_ id: Int) -> String {
            var bytes: [UInt8] = []
            push(id, to: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }

        /// The rest: the run of byte tokens at the end, if any. The decoder is then empty.
        public mutating func finish() -> String {
            var bytes: [UInt8] = []
            finish(to: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }

        /// `push`, appending the text's UTF-8 to `bytes`.
        mutating func push(_ id: Int, to bytes: inout [UInt8]) {
            guard tokenizer.vocabulary.indices.contains(id) else { return }
            let byte = tokenizer.byteValues[id]
            if byte >= 0 {
                run.append(UInt8(byte))
                return
            }
            finish(to: &bytes)
            let start = bytes.count
            tokenizer.appendText(of: id, to: &bytes)
            stripLeadingSpace(&bytes, from: start)
        }

        /// `finish`, appending the text's UTF-8 to `bytes`.
        mutating func finish(to bytes: inout [UInt8]) {
            guard !run.isEmpty else { return }
            let start = bytes.count
            if String(validating: run, as: UTF8.self) != nil {
                bytes += run
            } else {
                for _ in run { bytes += [0xEF, 0xBF, 0xBD] }  // U+FFFD
            }
            run.removeAll(keepingCapacity: true)
            stripLeadingSpace(&bytes, from: start)
        }

        /// Llama 2's `Strip` decoder: one space at the very start of the text goes.
        private mutating func stripLeadingSpace(_ bytes: inout [UInt8], from start: Int) {
            guard !started, bytes.count > start else { return }
            started = true
            if tokenizer.stripsLeadingSpace, bytes[start] == 0x20 { bytes.remove(at: start) }
        }
    }
}

extension SentencePieceTokenizer: DecoderTokenizer {
    public func streamDecoder() -> any TokenStream { StreamDecoder(tokenizer: self) }
}

private extension GGUFValue {
    /// Whether this is a number, of any width (what `float` reads).
    var isNumber: Bool {
        switch self {
        case .string, .array, .bool: false
        default: true
        }
    }
}
