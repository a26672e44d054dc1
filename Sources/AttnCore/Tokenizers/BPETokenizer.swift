import Foundation  // NSLock for the word cache

/// A byte-level BPE tokenizer (GPT-2's kind, used by SmolLM2): text → UTF-8 bytes → pieces →
/// merges of byte pairs → ids.
///
/// ```
/// "Hello, world!"
///   special tokens   none written in the text
///   pre-tokenizer    ["Hello", ",", " world", "!"]            (see `PreTokenizer`)
///   bytes            "Hello" → H e l l o;  " world" → Ġ w o r l d   (see `ByteEncoder`)
///   BPE              repeatedly merge the adjacent pair that comes first in the merge list:
///                    Ġ w o r l d → Ġw o r l d → Ġw or l d → Ġw or ld → Ġwor ld → Ġworld
///   ids              [19556, 28, 905, 17]
/// ```
/// Every byte can have a token of its own, so no text need ever be unknown. Bytes whose token is
/// missing from the vocabulary are dropped, as Hugging Face drops them: SmolLM2 lacks 21, the
/// bytes 0xC0, 0xC1, 0xF1, 0xF2 and 0xF5…0xFF, which no assigned character's UTF-8 uses, and the
/// control characters 0x04, 0x06, 0x13, 0x14, 0x16 and 0x1D.
///
/// The output matches Hugging Face `tokenizers` id for id, including its order of merges
/// (`Word::merge_all`); the test suite checks that against a fixture of 820 texts.
public struct BPETokenizer: Sendable {
    /// The vocabulary: `vocabulary[id]` is the token as stored, in `ByteEncoder`'s alphabet
    /// (`"Ġthe"` for `" the"`); control tokens such as `"<|im_start|>"` as themselves.
    public let vocabulary: [String]
    /// The id the model expects at the start of a text, if the vocabulary names one.
    /// `encode` never adds it: SmolLM2's Hugging Face tokenizer adds none.
    public let bosId: Int?
    /// The id that ends a text (for SmolLM2-Instruct `<|im_end|>`, which ends a chat turn).
    public let eosId: Int?
    /// How text is cut into pieces before BPE.
    public let preTokenizer: PreTokenizer

    /// Whether each token is a control token (type 3), shown as it is written.
    private let isControl: [Bool]
    /// The id of each byte's one-byte token, or -1 if the vocabulary has none.
    private let byteIds: [Int32]
    /// Each pair that merges → the rank of its merge (earliest merges first) and the merged token's id.
    private let merges: [BytePair: (rank: Int32, merged: Int32)]
    /// Tokens matched whole in the raw text, longest first: control and user-defined tokens.
    private let specialTokens: [(scalars: [Unicode.Scalar], id: Int)]
    /// Token → id, compared byte for byte (see `TokenKey`), without an array per token.
    private let idsByToken: PackedVocabulary
    private let cache = WordCache()

    // MARK: - Loading

    /// A tokenizer from the arrays of a GGUF file's `tokenizer.ggml.*` metadata.
    ///
    /// - Parameters:
    ///   - tokens: `tokenizer.ggml.tokens`; the id of a token is its index. A token listed twice
    ///     is found under its last id, as in Hugging Face's reader.
    ///   - merges: `tokenizer.ggml.merges`, `"left right"` each, earliest first: the rank of a
    ///     merge is its index. A pair listed twice keeps its last rank, as in `tokenizers`.
    ///   - tokenTypes: `tokenizer.ggml.token_type`, one per token: 1 normal, 3 control,
    ///     4 user-defined, …. Control and user-defined tokens written in the text stand for
    ///     themselves; without types, none do.
    ///   - bosId, eosId: `tokenizer.ggml.bos_token_id`, `eos_token_id`.
    ///   - preTokenizer: `tokenizer.ggml.pre`: `"smollm"` or `"gpt2"`.
    ///   - source: where the arrays come from, for error messages.
    /// - Throws: `AttnError.vocabularyInvalid` when there are no tokens, the types do not match
    ///   the tokens one for one, an id is outside the vocabulary, a merge is not two tokens
    ///   separated by a space or makes a token the vocabulary lacks, or the pre-tokenizer is not
    ///   one attn knows.
    public init(tokens: [String], merges: [String], tokenTypes: [Int]?, bosId: Int?, eosId: Int?,
                preTokenizer: String, source: String = "the tokenizer metadata") throws {
        func invalid(_ reason: String) -> AttnError { .vocabularyInvalid(path: source, reason: reason) }

        guard !tokens.isEmpty else { throw invalid("it has no tokens") }
        guard let rule = PreTokenizer(rawValue: preTokenizer) else {
            let known = PreTokenizer.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw invalid("its pre-tokenizer \"\(preTokenizer)\" is not one attn knows (\(known))")
        }
        if let tokenTypes, tokenTypes.count != tokens.count {
            throw invalid("it has \(tokenTypes.count) token types for \(tokens.count) tokens")
        }
        for (name, id) in [("BOS", bosId), ("EOS", eosId)] {
            if let id, !tokens.indices.contains(id) {
                throw invalid("its \(name) token id \(id) is not in 0..<\(tokens.count)")
            }
        }

        var bytes: [UInt8] = [], starts = [0]
        starts.reserveCapacity(tokens.count + 1)
        for token in tokens {
            if token.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
                bytes.append(contentsOf: token.utf8)
            }
            starts.append(bytes.count)
        }
        // A token listed twice is found under its last id, as in Hugging Face's reader.
        let ids = PackedVocabulary(bytes: bytes, starts: starts)

        let mergeTable = try Self.mergeTable(merges, ids: ids, invalid: invalid)

        var byteIds = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 { byteIds[byte] = ids.id(of: String(ByteEncoder.characters[byte])) }

        let types = tokenTypes ?? []
        var specials: [(scalars: [Unicode.Scalar], id: Int)] = []
        for (id, type) in types.enumerated() where type == 3 || type == 4 {
            let scalars = Array(tokens[id].unicodeScalars)
            // A token listed twice is matched as its last id, like every other lookup.
            if !scalars.isEmpty, ids.id(of: tokens[id]) == id { specials.append((scalars, id)) }
        }

        vocabulary = tokens
        self.bosId = bosId
        self.eosId = eosId
        self.preTokenizer = rule
        isControl = tokens.indices.map { types.indices.contains($0) && types[$0] == 3 }
        self.byteIds = byteIds
        self.merges = mergeTable
        // Longest first, so that the first token found at a position is the longest one there.
        specialTokens = specials.sorted { $0.scalars.count > $1.scalars.count }
        idsByToken = ids
    }

    /// The merge table: each `"left right"` line as the pair of ids it merges, with its rank and
    /// the id of the token it makes.
    ///
    /// Each line is read in place: its two halves and their join are looked up as bytes, with no
    /// array made per merge (SmolLM2 has 48,900).
    static func mergeTable(_ merges: [String], ids: PackedVocabulary,
                           invalid: (String) -> AttnError) throws -> [BytePair: (rank: Int32, merged: Int32)] {
        var mergeTable: [BytePair: (rank: Int32, merged: Int32)] = [:]
        mergeTable.reserveCapacity(merges.count)
        var joined: [UInt8] = []
        for (rank, merge) in merges.enumerated() {
            func withBytes<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T {
                if let result = try merge.utf8.withContiguousStorageIfAvailable(body) { return result }
                return try Array(merge.utf8).withUnsafeBufferPointer(body)
            }
            let (leftId, rightId, mergedId) = try withBytes { utf8 -> (Int32, Int32, Int32) in
                guard let space = utf8.firstIndex(of: UInt8(ascii: " ")), space > 0, space < utf8.count - 1,
                      !utf8[(space + 1)...].contains(UInt8(ascii: " ")) else {
                    throw invalid("merge \(rank) (\"\(merge)\") is not two tokens separated by a space")
                }
                let left = UnsafeBufferPointer(rebasing: utf8[..<space])
                let right = UnsafeBufferPointer(rebasing: utf8[(space + 1)...])
                func text(_ bytes: some Sequence<UInt8>) -> String { String(decoding: Array(bytes), as: UTF8.self) }
                let leftId = ids.id(of: left), rightId = ids.id(of: right)
                guard leftId >= 0 else { throw invalid("merge \(rank) (\"\(merge)\") names \"\(text(left))\", which is not a token") }
                guard rightId >= 0 else { throw invalid("merge \(rank) (\"\(merge)\") names \"\(text(right))\", which is not a token") }
                joined.removeAll(keepingCapacity: true)
                joined.append(contentsOf: left)
                joined.append(contentsOf: right)
                let mergedId = joined.withUnsafeBufferPointer { ids.id(of: $0) }
                guard mergedId >= 0 else { throw invalid("merge \(rank) (\"\(merge)\") makes \"\(text(joined))\", which is not a token") }
                return (leftId, rightId, mergedId)
            }
            mergeTable[BytePair(left: leftId, right: rightId)] = (Int32(truncatingIfNeeded: rank), mergedId)
        }
        return mergeTable
    }

    /// The tokenizer of a GGUF file: its `tokenizer.ggml.*` metadata.
    ///
    /// - Throws: `AttnError.vocabularyInvalid` naming the file when its tokenizer is not
    ///   byte-level BPE (`tokenizer.ggml.model` other than `"gpt2"`), a key it needs is missing
    ///   or has the wrong type, or the arrays are unusable (see the designated initializer).
    public init(gguf file: GGUFFile) throws {
        let metadata = file.metadata
        func invalid(_ reason: String) -> AttnError { .vocabularyInvalid(path: file.path, reason: reason) }

        guard let model = metadata["tokenizer.ggml.model"]?.string else {
            throw invalid("it has no tokenizer.ggml.model")
        }
        guard model == "gpt2" else {
            throw invalid("its tokenizer is \"\(model)\", not byte-level BPE (\"gpt2\")")
        }
        guard let tokens = metadata["tokenizer.ggml.tokens"]?.strings else {
            throw invalid("tokenizer.ggml.tokens is missing or not a list of strings")
        }
        guard let merges = metadata["tokenizer.ggml.merges"]?.strings else {
            throw invalid("tokenizer.ggml.merges is missing or not a list of strings")
        }
        guard let preTokenizer = metadata["tokenizer.ggml.pre"]?.string else {
            throw invalid("it does not say how to pre-tokenize (tokenizer.ggml.pre)")
        }
        var tokenTypes: [Int]?
        if let value = metadata["tokenizer.ggml.token_type"] {
            guard let types = value.ints else { throw invalid("tokenizer.ggml.token_type is not a list of integers") }
            tokenTypes = types
        }
        try self.init(tokens: tokens, merges: merges, tokenTypes: tokenTypes,
                      bosId: try file.tokenizerInt("tokenizer.ggml.bos_token_id"),
                      eosId: try file.tokenizerInt("tokenizer.ggml.eos_token_id"),
                      preTokenizer: preTokenizer, source: file.path)
    }

    // MARK: - Loading a Hugging Face checkpoint

    /// The tokenizer of a Hugging Face byte-level BPE checkpoint (GPT-2, SmolLM2): its
    /// `tokenizer.json`, or else GPT-2's `vocab.json` and `merges.txt`.
    ///
    /// ```
    /// tokenizer.json   model BPE (vocab, merges as "a b" or ["a", "b"]), no normalizer,
    ///                  pre_tokenizer ByteLevel → .gpt2, or Digits then ByteLevel → .smollm,
    ///                  decoder ByteLevel; added_tokens matched whole in the raw text
    ///                  (special: true ones are control tokens)
    /// vocab.json       {token: id}, with merges.txt: "#version: …", then one "a b" per line;
    ///                  <|endoftext|> is the control token; pre-tokenizer .gpt2
    /// ```
    /// No BOS is added, as GPT-2's Hugging Face tokenizer adds none; `eosId` is the id of
    /// `<|endoftext|>`, if the vocabulary has it. With GPT-2's files,
    /// `encode("Hello, world!")` is `[15496, 11, 995, 0]`.
    /// - Parameter directory: the checkpoint's directory (a snapshot of the Hugging Face cache).
    /// - Throws: `AttnError.fileUnreadable` when the files are not there or cannot be read;
    ///   `AttnError.vocabularyInvalid` naming the file and the setting when a file is malformed
    ///   (ids that do not run 0..<n, a merge of unknown tokens, …) or asks for something attn does
    ///   not reproduce exactly (another model, a normalizer, another pre-tokenizer, a prefix space,
    ///   byte fallback, dropout, a template that adds tokens).
    public init(huggingFaceDirectory directory: String) throws {
        if let json = try TokenizerJSON(directory: directory, modelType: "BPE") {
            try self.init(tokenizerJSON: json)
            return
        }
        guard let vocabulary = try JSONValue.read(file: directory + "/vocab.json", limit: TokenizerJSON.sizeLimit) else {
            throw AttnError.fileUnreadable(path: directory + "/vocab.json", reason: "there is no such file, and no tokenizer.json beside it")
        }
        let tokens = try TokenizerJSON.tokensByID(vocabulary)
        let mergesPath = directory + "/merges.txt"
        guard let bytes = try MappedFile.contents(of: mergesPath, limit: TokenizerJSON.sizeLimit) else {
            throw AttnError.fileUnreadable(path: mergesPath, reason: "there is no such file")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw AttnError.vocabularyInvalid(path: mergesPath, reason: "it is not UTF-8 text")
        }
        // As `tokenizers` reads it: lines end in "\n" or "\r\n"; "#version" lines are not merges.
        var merges: [String] = []
        for var line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line.isEmpty || line.starts(with: "#version".utf8) { continue }
            merges.append(String(decoding: line, as: UTF8.self))
        }
        let endOfText = tokens.lastIndex(of: Self.endOfText)
        try self.init(tokens: tokens, merges: merges,
                      tokenTypes: tokens.indices.map { $0 == endOfText ? 3 : 1 },
                      bosId: nil, eosId: endOfText, preTokenizer: PreTokenizer.gpt2.rawValue, source: mergesPath)
    }

    /// GPT-2's one special token, which ends a text.
    static let endOfText = "<|endoftext|>"

    /// A tokenizer from a `tokenizer.json` whose model is BPE.
    private init(tokenizerJSON json: TokenizerJSON) throws {
        let model = json.model
        try Self.checkModelOptions(json)
        let merges = try Self.mergeLines(model["merges"])

        if let normalizer = try json.stageType("normalizer") {
            throw json.unsupported("normalizer", normalizer, reads: "none for byte-level BPE")
        }
        let rule = try Self.preTokenizer(json)
        let decoder = try json.stageType("decoder")
        guard decoder == "ByteLevel" else { throw json.unsupported("decoder", decoder, reads: "ByteLevel") }
        try Self.checkPostProcessor(json)
        try json.checkAddedTokensMatchInRawText(normalizes: false)

        var types = [Int](repeating: 1, count: json.vocabulary.count)
        for token in json.addedTokens { types[token.id] = token.special ? 3 : 4 }
        try self.init(tokens: json.vocabulary, merges: merges, tokenTypes: types,
                      bosId: nil, eosId: json.vocabulary.lastIndex(of: Self.endOfText),
                      preTokenizer: rule.rawValue, source: json.path)
    }

    /// Refuses the BPE options that change the output from plain byte-level BPE.
    private static func checkModelOptions(_ json: TokenizerJSON) throws {
        let model = json.model
        try json.refuseBPEVariations(kind: "byte-level BPE")
        for key in ["byte_fallback", "ignore_merges"] where try model[key].bool(default: false) {
            throw json.root.invalid("its model has \(key): true, which attn does not reproduce")
        }
        // Every byte with a token of its own leaves the unknown token nothing to stand for.
        if let unknown = try model["unk_token"].optionalString() {
            let tokens = Set(json.vocabulary.map(TokenKey.init))
            if let byte = ByteEncoder.characters.first(where: { !tokens.contains(TokenKey(String($0))) }) {
                throw json.root.invalid("""
                    its unk_token \(JSONValue.quoted(unknown)) would stand for bytes without a token, \
                    such as \(JSONValue.quoted(String(byte))), which attn drops as byte-level BPE does
                    """)
            }
        }
    }

    /// `model.merges` as `"a b"` lines, from either form `tokenizers` writes: `"a b"` (before
    /// 0.20) or `["a", "b"]`.
    private static func mergeLines(_ merges: JSONValue) throws -> [String] {
        try merges.array().map { merge in
            if merge.isString { return try merge.string() }
            let pair = try merge.array()
            guard pair.count == 2 else { throw merge.invalid("\(merge.name) is not a pair of tokens") }
            let left = try pair[0].string(), right = try pair[1].string()
            guard !left.contains(" "), !right.contains(" ") else {
                throw merge.invalid("\(merge.name) has a token with a space, which no byte-level token has")
            }
            return left + " " + right
        }
    }

    /// `ByteLevel` alone is GPT-2's rule; `Sequence[Digits(individual_digits), ByteLevel]` is
    /// SmolLM2's.
    private static func preTokenizer(_ json: TokenizerJSON) throws -> PreTokenizer {
        let stage = try json.root["pre_tokenizer"]
        let known = "ByteLevel, or Digits (individual_digits: true) then ByteLevel"
        switch try json.stageType("pre_tokenizer") {
        case "ByteLevel":
            try checkByteLevel(stage, json)
            return .gpt2
        case "Sequence":
            let steps = try stage["pretokenizers"].array()
            let types = try steps.map { try $0["type"].string() }
            guard types == ["Digits", "ByteLevel"] else {
                throw json.unsupported("pre-tokenizer", "Sequence[\(types.joined(separator: ", "))]", reads: known)
            }
            guard try steps[0]["individual_digits"].bool(default: false) else {
                throw json.root.invalid("its Digits pre-tokenizer keeps runs of digits together; attn reads individual_digits: true")
            }
            try checkByteLevel(steps[1], json)
            return .smollm
        case let other:
            throw json.unsupported("pre-tokenizer", other, reads: known)
        }
    }

    /// A `ByteLevel` pre-tokenizer must split with GPT-2's regex and add no space in front.
    private static func checkByteLevel(_ stage: JSONValue, _ json: TokenizerJSON) throws {
        guard try !stage["add_prefix_space"].bool() else {
            throw json.root.invalid("its ByteLevel pre-tokenizer has add_prefix_space: true, which attn does not reproduce")
        }
        guard try stage["use_regex"].bool(default: true) else {
            throw json.root.invalid("its ByteLevel pre-tokenizer has use_regex: false; attn splits with GPT-2's regex")
        }
    }

    /// The post-processor may trim offsets (`ByteLevel`) but must add no token: `encode` adds none.
    private static func checkPostProcessor(_ json: TokenizerJSON) throws {
        let known = "none, ByteLevel, or a template that adds no token"
        switch try json.stageType("post_processor") {
        case nil, "ByteLevel":
            return
        case "TemplateProcessing":
            let single = try json.root["post_processor"]["single"].array()
            let addsNothing = try single.count == 1 && single[0]["Sequence"]["id"].optionalString() == "A"
            if !addsNothing { throw json.unsupported("post-processor", "TemplateProcessing adding tokens", reads: known) }
        case let other:
            throw json.unsupported("post-processor", other, reads: known)
        }
    }

    // MARK: - Lookup

    /// The id of `token` exactly as stored (`"Ġthe"`, `"<|im_end|>"`), or `nil`.
    public func id(of token: String) -> Int? {
        let id = idsByToken.id(of: token)
        return id < 0 ? nil : Int(id)
    }

    /// The bytes token `id` stands for: the ByteLevel decoder reads a token through the alphabet
    /// when it can, else as UTF-8. Made when asked (a few per sentence or generated token) rather
    /// than for all 49k tokens at load.
    /// - Precondition: `id` is in the vocabulary.
    private func tokenBytes(_ id: Int) -> [UInt8] {
        ByteEncoder.decode(vocabulary[id]) ?? Array(vocabulary[id].utf8)
    }

    /// A token as a learner should see it: its bytes as text, so `"Ġthe"` reads `" the"` and
    /// `"Ċ"` reads `"\n"`; control tokens such as `"<|im_start|>"` as they are written.
    ///
    /// A token can hold part of a character: an emoji's four bytes are often two tokens. Bytes
    /// that do not make a whole character are shown as `<0xF0>`:
    /// ```
    /// tokenText(10813)  →  "<0xF0><0x9F>"     (the token "ðŁ", which starts many emoji)
    /// tokenText(905)    →  " world"           (the token "Ġworld")
    /// ```
    /// - Returns: the text; `""` for an id outside the vocabulary.
    public func tokenText(_ id: Int) -> String {
        guard vocabulary.indices.contains(id) else { return "" }
        if isControl[id] { return vocabulary[id] }
        let bytes = tokenBytes(id)
        var text = ""
        var start = 0
        while start < bytes.count {
            let length = UTF8Validation.characterLength(bytes, at: start)
            if length > 0 {
                text += String(decoding: bytes[start..<start + length], as: UTF8.self)
                start += length
            } else {
                text += "<0x" + String(bytes[start], radix: 16, uppercase: true) + ">"
                start += 1
            }
        }
        return text
    }

    // MARK: - Encoding

    /// The ids of `text`. No BOS or EOS is added.
    ///
    /// ```
    /// encode("Hello, world!")             →  [19556, 28, 905, 17]
    /// encode("<|im_start|>user\nHi")      →  [1, 4093, 198, 26843]
    /// ```
    /// Control tokens written in the text (`<|im_start|>`, `<|im_end|>`, `<|endoftext|>`, …)
    /// stand for themselves, matched exactly, leftmost first and longest at a position; the text
    /// between them is encoded on its own.
    public func encode(_ text: String) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        var plainStart = 0
        var position = 0
        while position < scalars.count {
            if let match = specialTokens.first(where: { scalars[position...].starts(with: $0.scalars) }) {
                encodePlain(scalars, plainStart..<position, into: &ids)
                ids.append(match.id)
                position += match.scalars.count
                plainStart = position
            } else {
                position += 1
            }
        }
        encodePlain(scalars, plainStart..<scalars.count, into: &ids)
        return ids
    }

    /// Text without special tokens: pre-tokenize, then BPE each piece.
    private func encodePlain(_ scalars: [Unicode.Scalar], _ range: Range<Int>, into ids: inout [Int]) {
        guard !range.isEmpty else { return }
        var bytes: [UInt8] = []
        preTokenizer.forEachPiece(of: scalars, in: range) { piece in
            bytes.removeAll(keepingCapacity: true)
            for scalar in scalars[piece] { bytes.append(contentsOf: scalar.utf8) }
            if let cached = cache[bytes] {
                ids.append(contentsOf: cached)
            } else {
                let pieceIds = bpe(bytes)
                cache[bytes] = pieceIds
                ids.append(contentsOf: pieceIds)
            }
        }
    }

    /// BPE on the bytes of one piece, exactly as `tokenizers`' `Word::merge_all` does it.
    ///
    /// ```
    /// symbols: the one-byte token of each byte (bytes without one are dropped)
    /// queue:   every adjacent pair that has a merge, as (rank, position)
    /// repeat:  take the lowest rank (leftmost of equal ranks); if the pair is still there,
    ///          merge it and queue the new pairs it forms with its neighbours
    /// ```
    /// Taking one merge at a time, lowest rank first, gives the same result as GPT-2's
    /// "merge every occurrence of the best pair" loop. A queued pair counts as "still there"
    /// when the pair now at its position merges into the same token, as in `tokenizers`.
    private func bpe(_ bytes: [UInt8]) -> [Int] {
        var symbols: [Symbol] = []
        symbols.reserveCapacity(bytes.count)
        for byte in bytes {
            let id = byteIds[Int(byte)]
            guard id >= 0 else { continue }
            let index = Int32(symbols.count)
            symbols.append(Symbol(id: id, previous: index - 1, next: index + 1))
        }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1].next = -1
        if symbols.count == 1 { return [Int(symbols[0].id)] }

        var queue = MergeQueue()
        for position in 0..<symbols.count - 1 {
            if let (rank, merged) = merge(symbols[position].id, symbols[position + 1].id) {
                queue.push(Candidate(rank: Int64(rank), position: Int32(position), merged: merged))
            }
        }

        while let top = queue.pop() {
            let position = Int(top.position)
            guard !symbols[position].removed, symbols[position].next >= 0 else { continue }
            let nextPosition = Int(symbols[position].next)
            let right = symbols[nextPosition]
            guard let (_, merged) = merge(symbols[position].id, right.id), merged == top.merged else { continue }

            // Merge the right symbol into this one and unlink it.
            symbols[position].id = merged
            symbols[position].next = right.next
            symbols[nextPosition].removed = true
            if right.next >= 0 { symbols[Int(right.next)].previous = Int32(position) }

            // The new symbol forms new pairs with its neighbours.
            let previous = symbols[position].previous
            if previous >= 0, let (rank, merged) = merge(symbols[Int(previous)].id, symbols[position].id) {
                queue.push(Candidate(rank: Int64(rank), position: previous, merged: merged))
            }
            let next = symbols[position].next
            if next >= 0, let (rank, merged) = merge(symbols[position].id, symbols[Int(next)].id) {
                queue.push(Candidate(rank: Int64(rank), position: Int32(position), merged: merged))
            }
        }
        return symbols.compactMap { $0.removed ? nil : Int($0.id) }
    }

    /// The rank of the merge of `left` and `right` and the id it makes, if the pair merges.
    private func merge(_ left: Int32, _ right: Int32) -> (rank: Int32, merged: Int32)? {
        merges[BytePair(left: left, right: right)]
    }

    // MARK: - Decoding

    /// The text of `ids`: their bytes, read as UTF-8.
    ///
    /// ```
    /// decode([19556, 28, 905, 17])  →  "Hello, world!"
    /// ```
    /// Bytes that are not valid UTF-8 (a token sequence can stop inside a character) become
    /// U+FFFD, one per maximal invalid sequence, as Rust's `String::from_utf8_lossy` in Hugging
    /// Face's decoder does. Control tokens decode as their text; ids outside the vocabulary are
    /// skipped, as Hugging Face skips them.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where vocabulary.indices.contains(id) { bytes.append(contentsOf: tokenBytes(id)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes ids one at a time, as a model generates them, giving back only whole characters.
    ///
    /// ```
    /// 😀 is F0 9F 98 80, three tokens for SmolLM2: "ðŁ" (F0 9F), "ĺ" (98), "Ģ" (80)
    /// var stream = BPETokenizer.StreamDecoder(tokenizer: tokenizer)
    /// stream.push(10813)   →  ""
    /// stream.push(242)     →  ""
    /// stream.push(218)     →  "😀"
    /// stream.finish()      →  ""
    /// ```
    /// What the pushes and `finish()` return, joined, is `decode` of all the ids.
    public struct StreamDecoder: TokenStream {
        private let tokenizer: BPETokenizer
        /// Bytes of a character that has not been completed yet (at most 3).
        private var pending: [UInt8] = []

        /// A decoder with nothing pushed yet.
        public init(tokenizer: BPETokenizer) {
            self.tokenizer = tokenizer
        }

        /// The text that `id` completes: `""` while a character is still incomplete.
        ///
        /// Bytes that can no longer become a character come out as U+FFFD, as in `decode`.
        public mutating func push(_ id: Int) -> String {
            guard tokenizer.vocabulary.indices.contains(id) else { return "" }
            pending.append(contentsOf: tokenizer.tokenBytes(id))
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

    public func streamDecoder() -> any TokenStream { StreamDecoder(tokenizer: self) }

    /// False: neither SmolLM2's nor GPT-2's Hugging Face tokenizer starts a text with BOS.
    public var addsBeginningToken: Bool { false }
}

extension BPETokenizer: DecoderTokenizer {}

/// Piece bytes → ids, shared by every copy of a tokenizer. Like `tokenizers`' cache it holds at
/// most 10,000 pieces and stops adding when full; pieces longer than 256 bytes are not kept.
private final class WordCache: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [[UInt8]: [Int]] = [:]
    private let capacity = 10_000
    private let longestPiece = 256

    subscript(bytes: [UInt8]) -> [Int]? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return ids[bytes]
        }
        set {
            guard bytes.count <= longestPiece, let newValue else { return }
            lock.lock()
            defer { lock.unlock() }
            if ids.count < capacity { ids[bytes] = newValue }
        }
    }
}
