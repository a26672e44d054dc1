import AttnCore
import Foundation
import Testing

// MARK: - Reference data

/// The committed fixtures: tiny tokenizers trained by Tests/Reference/tiny_checkpoints.py, in the
/// hub cache's layout, and the ids Hugging Face `tokenizers` gave each corpus text with them.
fileprivate enum TinyCheckpoints {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    /// The snapshot directory of `attn-tiny/NAME` in the committed hub cache.
    static func snapshot(_ name: String) throws -> String {
        let found = try HubCache.snapshot(of: "attn-tiny/\(name)", environment: ["HF_HUB_CACHE": fixtures + "/hub"])
        return try #require(found, "the fixtures should hold attn-tiny/\(name)").directory
    }

    /// The directory of the accent-stripping BERT's tokenizer.json, outside the hub cache.
    static let strippedBERT = fixtures + "/tiny/bert-stripped"
}

/// Texts and the ids `tokenizers` gave them: {"tokenizers", "tokenizer", "cases": [{"text", "ids"(, "decoded")}]}.
fileprivate struct CorpusFixture: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        /// `tokenizers`' decode of `ids` (byte-level BPE only).
        let decoded: String?
    }

    /// The `tokenizers` version that made the fixture.
    let tokenizers: String
    /// The tokenizer.json it used, relative to Fixtures/.
    let tokenizer: String
    let cases: [Case]

    static func load(_ name: String) throws -> CorpusFixture {
        let path = TinyCheckpoints.fixtures + "/" + name
        let data = try #require(FileManager.default.contents(atPath: path), "cannot read \(path)")
        return try JSONDecoder().decode(CorpusFixture.self, from: data)
    }
}

/// `expectCorpusParity` for a BERT tokenizer on a corpus fixture.
fileprivate func expectParity(_ tokenizer: WordPieceTokenizer, _ fixture: CorpusFixture,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
    try expectCorpusParity(fixture.cases.map { ($0.text, $0.ids) }, tokenizers: fixture.tokenizers,
                           encode: { try tokenizer.encode($0, limit: .max) }, tokens: tokenizer.tokens,
                           sourceLocation: sourceLocation)
}

/// `expectCorpusParity` for a byte-level BPE tokenizer on a corpus fixture.
fileprivate func expectParity(_ tokenizer: BPETokenizer, _ fixture: CorpusFixture,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
    try expectCorpusParity(fixture.cases.map { ($0.text, $0.ids) }, tokenizers: fixture.tokenizers,
                           encode: tokenizer.encode, tokens: { $0.map(tokenizer.tokenText) },
                           sourceLocation: sourceLocation)
}

/// A fresh directory under the system's temporary directory.
fileprivate func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("attn-hf-tokenizer-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `files` (name → JSON object or raw bytes) into a fresh directory and calls `body` with it.
fileprivate func withDirectory<T>(_ files: [String: Any], _ body: (String) throws -> T) throws -> T {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    for (name, contents) in files {
        let data: Data
        if let bytes = contents as? [UInt8] {
            data = Data(bytes)
        } else if let text = contents as? String {
            data = Data(text.utf8)
        } else {
            data = try JSONSerialization.data(withJSONObject: contents)
        }
        try data.write(to: directory.appendingPathComponent(name))
    }
    return try body(directory.path)
}

/// The reason of the `.vocabularyInvalid` error `body` throws, checked to name `file` in
/// `directory` and to be one line; `nil` (and a recorded issue) for anything else.
fileprivate func problem(in file: String, _ body: (String) throws -> Void, files: [String: Any]) -> String? {
    do {
        return try withDirectory(files) { directory in
            do {
                try body(directory)
                Issue.record("expected an error about \(file)")
                return nil
            } catch let error as AttnError {
                guard case let .vocabularyInvalid(path, reason) = error else {
                    Issue.record("expected AttnError.vocabularyInvalid, got \(error)")
                    return nil
                }
                #expect(path == directory + "/" + file)
                #expect(!error.description.contains("\n"), "one line: \(error)")
                return reason
            }
        }
    } catch {
        Issue.record("expected AttnError.vocabularyInvalid, got \(error)")
        return nil
    }
}

// MARK: - Hand-written tokenizer.json files

/// A tiny byte-level BPE tokenizer.json: the 256 byte tokens, `Ġt`, `he`, `Ġthe`, and
/// `<|endoftext|>` as an added special token (id 259).
fileprivate func gpt2JSON(pairMerges: Bool = false) -> [String: Any] {
    var vocab: [String: Any] = [:]
    for byte in 0..<256 { vocab[String(ByteEncoder.characters[byte])] = byte }
    for (offset, token) in ["Ġt", "he", "Ġthe", "<|endoftext|>"].enumerated() { vocab[token] = 256 + offset }
    let merges: [[String]] = [["Ġ", "t"], ["h", "e"], ["Ġt", "he"]]
    let mergeList: [Any] = pairMerges ? merges : merges.map { $0.joined(separator: " ") }
    let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
    let endOfText: [String: Any] = ["id": 259, "content": "<|endoftext|>", "single_word": false, "lstrip": false,
                                    "rstrip": false, "normalized": true, "special": true]
    let model: [String: Any] = [
        "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": "",
        "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
        "vocab": vocab, "merges": mergeList,
    ]
    return [
        "version": "1.0", "truncation": NSNull(), "padding": NSNull(),
        "added_tokens": [endOfText],
        "normalizer": NSNull(),
        "pre_tokenizer": byteLevel,
        "post_processor": byteLevel,
        "decoder": byteLevel,
        "model": model,
    ]
}

/// A tiny BERT tokenizer.json, uncased, as `tokenizers` writes it.
fileprivate func bertJSON() -> [String: Any] {
    let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "!", "cafe", "café"]
    var vocab: [String: Any] = [:]
    for (id, token) in tokens.enumerated() { vocab[token] = id }
    let added: [[String: Any]] = tokens.prefix(5).enumerated().map { id, token in
        ["id": id, "content": token, "single_word": false, "lstrip": false, "rstrip": false,
         "normalized": false, "special": true]
    }
    return [
        "version": "1.0", "truncation": NSNull(), "padding": NSNull(),
        "added_tokens": added,
        "normalizer": ["type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": NSNull(), "lowercase": true],
        "pre_tokenizer": ["type": "BertPreTokenizer"],
        "post_processor": [
            "type": "TemplateProcessing",
            "single": [["SpecialToken": ["id": "[CLS]", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                       ["SpecialToken": ["id": "[SEP]", "type_id": 0]]],
            "pair": [] as [Any],
            "special_tokens": ["[CLS]": ["id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]],
                               "[SEP]": ["id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]]],
        ],
        "decoder": ["type": "WordPiece", "prefix": "##", "cleanup": true],
        "model": ["type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab],
    ]
}

/// `json` with the value at `path` (keys, and list indices as Int) replaced; `nil` removes it.
fileprivate func changing(_ json: [String: Any], _ path: [Any], to value: Any?) -> [String: Any] {
    func change(_ node: Any, _ path: ArraySlice<Any>) -> Any? {
        guard let key = path.first else { return value }
        if var object = node as? [String: Any], let key = key as? String {
            object[key] = change(object[key] as Any, path.dropFirst())
            return object
        }
        if var list = node as? [Any], let index = key as? Int {
            if let changed = change(list[index], path.dropFirst()) { list[index] = changed } else { list.remove(at: index) }
            return list
        }
        return node
    }
    return change(json, path[...]) as? [String: Any] ?? json
}

// MARK: - Parity with Hugging Face on the tiny checkpoints

@Suite("Hugging Face tokenizer files: parity")
struct HuggingFaceTokenizerParityTests {
    @Test("The tiny GPT-2's tokenizer.json encodes and decodes every corpus text as tokenizers does")
    func gpt2MatchesPython() throws {
        let fixture = try CorpusFixture.load("tiny-gpt2-tokenizer.json")
        let directory = try TinyCheckpoints.snapshot("gpt2")
        #expect(fixture.cases.count >= 300, "the fixture should hold the whole corpus")
        #expect(TinyCheckpoints.fixtures + "/" + fixture.tokenizer == directory + "/tokenizer.json")
        let tokenizer = try BPETokenizer(huggingFaceDirectory: directory)
        #expect(tokenizer.preTokenizer == .gpt2)
        #expect(tokenizer.bosId == nil)
        #expect(tokenizer.eosId == tokenizer.id(of: "<|endoftext|>"))

        try expectParity(tokenizer, fixture)
        #expect(fixture.cases.allSatisfy { $0.decoded != nil })
        for reference in fixture.cases {
            // Compared as code points: Swift's == would accept a canonically equivalent string.
            let decoded = tokenizer.decode(reference.ids)
            #expect(Array(decoded.unicodeScalars) == Array((reference.decoded ?? "").unicodeScalars),
                    "ids \(reference.ids) decode to \(String(reflecting: decoded))")
        }
    }

    @Test("Each tiny BERT's tokenizer.json encodes every corpus text as tokenizers does",
          arguments: [("tiny-bert-tokenizer.json", BertNormalization()),
                      ("tiny-bert-cased-tokenizer.json", BertNormalization(lowercase: false)),
                      ("tiny-bert-stripped-tokenizer.json", BertNormalization(stripAccents: true, lowercase: false))])
    func bertMatchesPython(fixtureName: String, normalization: BertNormalization) throws {
        let fixture = try CorpusFixture.load(fixtureName)
        #expect(fixture.cases.count >= 300, "the fixture should hold the whole corpus")
        let file = TinyCheckpoints.fixtures + "/" + fixture.tokenizer
        let tokenizer = try WordPieceTokenizer(huggingFaceDirectory: URL(fileURLWithPath: file).deletingLastPathComponent().path)
        #expect(tokenizer.normalization == normalization)

        try expectParity(tokenizer, fixture)
    }

    @Test("GPT-2's vocab.json and merges.txt make the same tokenizer as its tokenizer.json")
    func gpt2LegacyFilesMatchTokenizerJSON() throws {
        let fixture = try CorpusFixture.load("tiny-gpt2-tokenizer.json")
        let modern = try BPETokenizer(huggingFaceDirectory: TinyCheckpoints.snapshot("gpt2"))
        // gpt2-sharded has only vocab.json and merges.txt.
        let sharded = try TinyCheckpoints.snapshot("gpt2-sharded")
        #expect(!FileManager.default.fileExists(atPath: sharded + "/tokenizer.json"))
        let legacy = try BPETokenizer(huggingFaceDirectory: sharded)
        #expect(legacy.vocabulary == modern.vocabulary)
        #expect(legacy.eosId == modern.eosId && legacy.bosId == nil && legacy.preTokenizer == .gpt2)
        try expectParity(legacy, fixture)
        // gpt2-bf16 has both kinds of files.
        let both = try BPETokenizer(huggingFaceDirectory: TinyCheckpoints.snapshot("gpt2-bf16"))
        #expect(both.vocabulary == modern.vocabulary)
    }

    @Test("BERT's vocab.txt with tokenizer_config.json makes the same tokenizer as its tokenizer.json",
          arguments: [("bert", "tiny-bert-tokenizer.json"), ("bert-bf16", "tiny-bert-cased-tokenizer.json")])
    func bertLegacyFilesMatchTokenizerJSON(name: String, fixtureName: String) throws {
        let fixture = try CorpusFixture.load(fixtureName)
        let snapshot = try TinyCheckpoints.snapshot(name)
        let modern = try WordPieceTokenizer(huggingFaceDirectory: snapshot)
        // The same vocab.txt and tokenizer_config.json, without the tokenizer.json beside them.
        let legacy = try withDirectory([:]) { directory in
            for file in ["vocab.txt", "tokenizer_config.json"] {
                // Read through the snapshot's links into blobs/.
                let contents = try #require(FileManager.default.contents(atPath: snapshot + "/" + file))
                try contents.write(to: URL(fileURLWithPath: directory + "/" + file))
            }
            return try WordPieceTokenizer(huggingFaceDirectory: directory)
        }
        #expect(legacy.vocabulary == modern.vocabulary)
        #expect(legacy.normalization == modern.normalization)
        let legacyIds: [Int] = [legacy.clsId, legacy.sepId, legacy.unkId, legacy.padId]
        #expect(legacyIds == [modern.clsId, modern.sepId, modern.unkId, modern.padId])
        try expectParity(legacy, fixture)
    }

    @Test("bert-sharded, which has only vocab.txt and tokenizer_config.json, is the uncased tiny BERT")
    func bertShardedIsUncased() throws {
        let fixture = try CorpusFixture.load("tiny-bert-tokenizer.json")
        let tokenizer = try WordPieceTokenizer(huggingFaceDirectory: TinyCheckpoints.snapshot("bert-sharded"))
        #expect(tokenizer.normalization == BertNormalization())
        try expectParity(tokenizer, fixture)
    }
}

// MARK: - Real checkpoints

@Suite("Hugging Face tokenizer files: real checkpoints")
struct HuggingFaceRealTokenizerTests {
    /// The MiniLM fixture's texts and ids (Tests/Reference/minilm_tokenizer.py).
    struct MiniLMFixture: Decodable {
        struct Case: Decodable {
            let text: String
            let ids: [Int]
        }
        let tokenizers: String
        let cases: [Case]
    }

    @Test("MiniLM's tokenizer.json gives the fixture's ids, as its vocab.txt does")
    func miniLMTokenizerJSON() throws {
        let directory = ModelStore.directory(for: .minilm)
        let fromJSON = try #require(try? WordPieceTokenizer(huggingFaceDirectory: directory), """
            MiniLM's tokenizer.json is needed in \(directory): run `make test`, which fetches the weights
            """)
        let fromText = try WordPieceTokenizer(vocabularyFile: directory + "/vocab.txt")
        #expect(fromJSON.vocabulary == fromText.vocabulary)
        #expect(fromJSON.normalization == fromText.normalization)
        let specialIds: [Int] = [fromJSON.clsId, fromJSON.sepId, fromJSON.unkId, fromJSON.padId]
        #expect(specialIds == [101, 102, 100, 0])

        let path = TinyCheckpoints.fixtures + "/minilm-tokenizer.json"
        let data = try #require(FileManager.default.contents(atPath: path))
        let fixture = try JSONDecoder().decode(MiniLMFixture.self, from: data)
        #expect(fixture.cases.count >= 600)
        try expectCorpusParity(fixture.cases.map { ($0.text, $0.ids) }, tokenizers: fixture.tokenizers,
                               encode: { try fromJSON.encode($0, limit: .max) }, tokens: fromJSON.tokens)
    }

    @Test("SmolLM2's vocabulary written as a tokenizer.json (Digits then ByteLevel, [\"a\", \"b\"] merges) encodes as its GGUF")
    func smolLM2AsTokenizerJSON() throws {
        let ggufPath = ModelStore.directory(for: .smollm2) + "/SmolLM2-135M-Instruct.Q4_1.gguf"
        let gguf = try #require(try? GGUFFile(path: ggufPath), """
            the SmolLM2 GGUF file is needed at \(ggufPath): run `make test`, which fetches the weights
            """)
        let reference = try BPETokenizer(gguf: gguf)
        let metadata = gguf.metadata
        let tokens = try #require(metadata["tokenizer.ggml.tokens"]?.strings)
        let merges = try #require(metadata["tokenizer.ggml.merges"]?.strings)
        let types = try #require(metadata["tokenizer.ggml.token_type"]?.ints)

        // SmolLM2's own tokenizer.json has this shape; the file is not in attn's cache.
        var vocab: [String: Any] = [:]
        for (id, token) in tokens.enumerated() { vocab[token] = id }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let json: [String: Any] = [
            "version": "1.0",
            "added_tokens": types.enumerated().filter { $0.element == 3 }.map { id, _ in
                ["id": id, "content": tokens[id], "single_word": false, "lstrip": false, "rstrip": false,
                 "normalized": false, "special": true]
            },
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "Sequence",
                              "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]],
            "post_processor": NSNull(),
            "decoder": byteLevel,
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": merges.map { $0.split(separator: " ").map(String.init) }],
        ]
        let tokenizer = try withDirectory(["tokenizer.json": json]) { try BPETokenizer(huggingFaceDirectory: $0) }
        #expect(tokenizer.preTokenizer == .smollm)
        #expect(tokenizer.vocabulary == reference.vocabulary)
        #expect(tokenizer.eosId == 0, "<|endoftext|> is SmolLM2's id 0")

        struct Fixture: Decodable {
            struct Case: Decodable { let text: String; let ids: [Int] }
            let tokenizers: String
            let cases: [Case]
        }
        let data = try #require(FileManager.default.contents(atPath: TinyCheckpoints.fixtures + "/smollm2-tokenizer.json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        try expectCorpusParity(fixture.cases.map { ($0.text, $0.ids) }, tokenizers: fixture.tokenizers,
                               encode: tokenizer.encode, tokens: { $0.map(tokenizer.tokenText) })
        #expect(tokenizer.encode("<|im_start|>user\nHi<|im_end|>") == [1, 4093, 198, 26843, 2])
    }
}

// MARK: - Hand-written files

@Suite("Hugging Face tokenizer files: what attn reads")
struct HuggingFaceTokenizerFileTests {
    @Test("BPE merges read the same in both forms tokenizers writes: \"a b\" and [\"a\", \"b\"]")
    func bothMergeForms() throws {
        let strings = try withDirectory(["tokenizer.json": gpt2JSON()]) { try BPETokenizer(huggingFaceDirectory: $0) }
        let pairs = try withDirectory(["tokenizer.json": gpt2JSON(pairMerges: true)]) { try BPETokenizer(huggingFaceDirectory: $0) }
        for tokenizer in [strings, pairs] {
            #expect(tokenizer.encode(" the<|endoftext|>the") == [258, 259, 116, 257])
            #expect(tokenizer.eosId == 259)
            #expect(tokenizer.tokenText(259) == "<|endoftext|>")
            #expect(tokenizer.decode([258, 259]) == " the<|endoftext|>")
        }
        #expect(strings.vocabulary == pairs.vocabulary)
    }

    @Test("Added tokens beyond the vocabulary extend it; each is matched whole in the text")
    func addedTokensExtendTheVocabulary() throws {
        var json = gpt2JSON()
        json = changing(json, ["added_tokens"], to: [
            ["id": 259, "content": "<|endoftext|>", "special": true, "normalized": false],
            ["id": 260, "content": "<pad>", "special": true, "normalized": false],
            ["id": 261, "content": "ĠĠ", "special": false, "normalized": false],
        ])
        let tokenizer = try withDirectory(["tokenizer.json": json]) { try BPETokenizer(huggingFaceDirectory: $0) }
        #expect(tokenizer.vocabulary.count == 262)
        #expect(tokenizer.encode("a<pad> the") == [97, 260, 258])
        #expect(tokenizer.id(of: "ĠĠ") == 261)
    }

    @Test("A BERT tokenizer.json: options of BertNormalizer, ids of the template, added tokens")
    func bertOptions() throws {
        let uncased = try withDirectory(["tokenizer.json": bertJSON()]) { try WordPieceTokenizer(huggingFaceDirectory: $0) }
        #expect(try uncased.encode("Hello WORLDS! [MASK] Café") == [2, 5, 6, 7, 8, 4, 9, 3])
        #expect(uncased.normalization == BertNormalization())

        // Cased: strip_accents null follows lowercase false, so "Café" keeps its accent.
        let cased = try withDirectory(["tokenizer.json": changing(bertJSON(), ["normalizer", "lowercase"], to: false)]) {
            try WordPieceTokenizer(huggingFaceDirectory: $0)
        }
        #expect(cased.normalization == BertNormalization(stripAccents: false, lowercase: false))
        #expect(try cased.encode("café Hello") == [2, 10, 1, 3])

        // BertProcessing names the same ids another way; no normalizer at all is a cased BERT
        // without cleaning.
        var json = changing(bertJSON(), ["post_processor"], to: ["type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]])
        json = changing(json, ["normalizer"], to: NSNull())
        json = changing(json, ["model", "max_input_chars_per_word"], to: 5)
        let plain = try withDirectory(["tokenizer.json": json]) { try WordPieceTokenizer(huggingFaceDirectory: $0) }
        #expect(plain.normalization == .none)
        #expect(plain.maxCharactersPerWord == 5)
        #expect(try plain.encode("hello Hello worlds") == [2, 5, 1, 1, 3])
    }

    @Test("tokenizer_config.json's options apply to vocab.txt, with BertTokenizer's defaults")
    func vocabularyWithConfiguration() throws {
        let vocabulary = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\ncafe\ncafé\n中\n"
        let cases: [([String: Any]?, BertNormalization, [Int])] = [
            (nil, BertNormalization(), [2, 4, 5, 7, 3]),
            (["do_lower_case": false], BertNormalization(lowercase: false), [2, 1, 6, 7, 3]),
            (["do_lower_case": true, "strip_accents": false], BertNormalization(stripAccents: false), [2, 4, 6, 7, 3]),
            (["tokenize_chinese_chars": false, "strip_accents": NSNull()], BertNormalization(chineseCharacters: false), [2, 4, 5, 7, 3]),
        ]
        for (config, normalization, ids) in cases {
            var files: [String: Any] = ["vocab.txt": vocabulary]
            if let config { files["tokenizer_config.json"] = config }
            let tokenizer = try withDirectory(files) { try WordPieceTokenizer(huggingFaceDirectory: $0) }
            #expect(tokenizer.normalization == normalization)
            #expect(try tokenizer.encode("Hello café 中") == ids, "config \(String(describing: config))")
        }
    }

    @Test("A directory with no tokenizer file is unreadable, and the error names it")
    func noFiles() throws {
        try withDirectory(["config.json": ["model_type": "bert"]]) { directory in
            #expect(throws: AttnError.fileUnreadable(path: directory + "/vocab.txt", reason: "there is no such file, and no tokenizer.json beside it")) {
                try WordPieceTokenizer(huggingFaceDirectory: directory)
            }
            #expect(throws: AttnError.fileUnreadable(path: directory + "/vocab.json", reason: "there is no such file, and no tokenizer.json beside it")) {
                try BPETokenizer(huggingFaceDirectory: directory)
            }
        }
        // vocab.json without merges.txt.
        let vocabularyOnly: [String: Any] = ["vocab.json": ["a": 0]]
        _ = try withDirectory(vocabularyOnly) { directory in
            #expect(throws: AttnError.fileUnreadable(path: directory + "/merges.txt", reason: "there is no such file")) {
                try BPETokenizer(huggingFaceDirectory: directory)
            }
        }
    }

    @Test("GPT-2's merges.txt: the #version line and blank lines are skipped, CRLF is read")
    func legacyMerges() throws {
        var vocab: [String: Any] = [:]
        for byte in 0..<256 { vocab[String(ByteEncoder.characters[byte])] = byte }
        vocab["Ġt"] = 256
        vocab["<|endoftext|>"] = 257
        let tokenizer = try withDirectory(["vocab.json": vocab, "merges.txt": "#version: 0.2\r\nĠ t\r\n\n"]) {
            try BPETokenizer(huggingFaceDirectory: $0)
        }
        #expect(tokenizer.encode(" t<|endoftext|>") == [256, 257])
        #expect(tokenizer.eosId == 257)
        #expect(tokenizer.tokenText(257) == "<|endoftext|>")
    }
}

// MARK: - Malformed and unsupported files

@Suite("Hugging Face tokenizer files: clear errors")
struct HuggingFaceTokenizerErrorTests {
    /// The reason a BPE directory with this tokenizer.json is refused.
    func bpeProblem(_ json: Any) -> String? {
        problem(in: "tokenizer.json", { _ = try BPETokenizer(huggingFaceDirectory: $0) }, files: ["tokenizer.json": json])
    }

    /// The reason a BERT directory with this tokenizer.json is refused.
    func bertProblem(_ json: Any) -> String? {
        problem(in: "tokenizer.json", { _ = try WordPieceTokenizer(huggingFaceDirectory: $0) }, files: ["tokenizer.json": json])
    }

    @Test("Files that are not JSON objects, or lack the model, are refused")
    func notTokenizerFiles() {
        #expect(bpeProblem(Array("{\"model\": ".utf8)) == "it is not valid JSON")
        #expect(bpeProblem([UInt8]([0xFF, 0xFE, 0x7B, 0x7D])) == "it is not valid JSON")
        #expect(bpeProblem([1, 2, 3]) == "its top level is a list, not an object")
        #expect(bpeProblem(["version": "1.0"]) == "model is missing, not an object")
        #expect(bpeProblem(["model": ["vocab": [:] as [String: Any]]]) == "model.type is missing, not a string")
        #expect(bpeProblem(bertJSON()) == "its model is \"WordPiece\", not \"BPE\"")
        #expect(bertProblem(gpt2JSON()) == "its model is \"BPE\", not \"WordPiece\"")
        #expect(bertProblem(changing(bertJSON(), ["model", "type"], to: "Unigram")) == "its model is \"Unigram\", not \"WordPiece\"")
    }

    @Test("Deeply nested JSON is refused without a crash")
    func deeplyNested() {
        let depth = 100_000
        let text = "{\"model\": " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        #expect(bpeProblem(Array(text.utf8)) != nil)
    }

    @Test("Vocabulary ids must be whole numbers running 0..<n, each once")
    func vocabularyIds() {
        #expect(bpeProblem(changing(gpt2JSON(), ["model", "vocab"], to: [1, 2])) == "model.vocab is a list, not an object")
        #expect(bpeProblem(changing(gpt2JSON(), ["model", "vocab"], to: [:] as [String: Any])) == "model.vocab has no tokens")
        #expect(bpeProblem(changing(gpt2JSON(), ["model", "vocab", "he"], to: "257"))
                == "model.vocab[\"he\"] is the string \"257\", not a token id (a whole number from 0)")
        #expect(bpeProblem(changing(gpt2JSON(), ["model", "vocab", "he"], to: true))
                == "model.vocab[\"he\"] is true, not a token id (a whole number from 0)")
        #expect(bpeProblem(changing(gpt2JSON(), ["model", "vocab", "he"], to: 257.5))
                == "model.vocab[\"he\"] is the number 257.5, not a token id (a whole number from 0)")
        #expect(bpeProblem(changing(gpt2JSON(), ["model", "vocab", "he"], to: -1))
                == "model.vocab[\"he\"] is the number -1, not a token id (a whole number from 0)")
        // A hole: 260 tokens, one of them at 300.
        #expect(bpeProblem(changing(gpt2JSON(), ["model", "vocab", "he"], to: 300))
                == "the ids of model.vocab must run 0..<260 without gaps, but \"he\" has id 300")
        let twice = bpeProblem(changing(gpt2JSON(), ["model", "vocab", "he"], to: 256)) ?? ""
        #expect(twice.hasSuffix("both have id 256 in model.vocab"), "\(twice)")
    }

    @Test("Merges must be a list of \"a b\" or [a, b] of known tokens")
    func merges() {
        #expect(bpeProblem(changing(gpt2JSON(), ["model", "merges"], to: "Ġ t")) == "model.merges is the string \"Ġ t\", not a list")
        #expect(bpeProblem(changing(gpt2JSON(), ["model", "merges"], to: nil)) == "model.merges is missing, not a list")
        #expect(bpeProblem(changing(gpt2JSON(pairMerges: true), ["model", "merges", 1], to: ["h", "e", "x"]))
                == "model.merges[1] is not a pair of tokens")
        #expect(bpeProblem(changing(gpt2JSON(pairMerges: true), ["model", "merges", 1], to: ["h", 5]))
                == "model.merges[1][1] is the number 5, not a string")
        #expect(bpeProblem(changing(gpt2JSON(pairMerges: true), ["model", "merges", 1], to: ["h e", "x"]))
                == "model.merges[1] has a token with a space, which no byte-level token has")
        #expect(bpeProblem(changing(gpt2JSON(), ["model", "merges", 1], to: "h e x"))
                == "merge 1 (\"h e x\") is not two tokens separated by a space")
        #expect(bpeProblem(changing(gpt2JSON(), ["model", "merges", 1], to: "e h"))
                == "merge 1 (\"e h\") makes \"eh\", which is not a token")
    }

    @Test("Byte-level BPE settings attn does not reproduce are refused, naming the setting")
    func unsupportedBPE() {
        let base = gpt2JSON()
        #expect(bpeProblem(changing(base, ["normalizer"], to: ["type": "NFKC"]))
                == "its normalizer is \"NFKC\"; attn reads none for byte-level BPE")
        #expect(bpeProblem(changing(base, ["pre_tokenizer"], to: ["type": "Whitespace"]))
                == "its pre-tokenizer is \"Whitespace\"; attn reads ByteLevel, or Digits (individual_digits: true) then ByteLevel")
        #expect(bpeProblem(changing(base, ["pre_tokenizer", "add_prefix_space"], to: true))
                == "its ByteLevel pre-tokenizer has add_prefix_space: true, which attn does not reproduce")
        #expect(bpeProblem(changing(base, ["pre_tokenizer", "add_prefix_space"], to: nil))
                == "pre_tokenizer.add_prefix_space is missing, not true or false")
        #expect(bpeProblem(changing(base, ["pre_tokenizer", "use_regex"], to: false))
                == "its ByteLevel pre-tokenizer has use_regex: false; attn splits with GPT-2's regex")
        let split: [String: Any] = ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": "\\p{N}"], "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "use_regex": false]]]
        #expect(bpeProblem(changing(base, ["pre_tokenizer"], to: split))
                == "its pre-tokenizer is \"Sequence[Split, ByteLevel]\"; attn reads ByteLevel, or Digits (individual_digits: true) then ByteLevel")
        let digits: [String: Any] = ["type": "Sequence", "pretokenizers": [
            ["type": "Digits", "individual_digits": false], ["type": "ByteLevel", "add_prefix_space": false]]]
        #expect(bpeProblem(changing(base, ["pre_tokenizer"], to: digits))
                == "its Digits pre-tokenizer keeps runs of digits together; attn reads individual_digits: true")
        #expect(bpeProblem(changing(base, ["decoder"], to: NSNull())) == "its decoder is null; attn reads ByteLevel")
        let template: [String: Any] = ["type": "TemplateProcessing",
                                       "single": [["SpecialToken": ["id": "<|endoftext|>", "type_id": 0]],
                                                  ["Sequence": ["id": "A", "type_id": 0]]]]
        #expect(bpeProblem(changing(base, ["post_processor"], to: template))
                == "its post-processor is \"TemplateProcessing adding tokens\"; attn reads none, ByteLevel, or a template that adds no token")
        #expect(bpeProblem(changing(base, ["model", "byte_fallback"], to: true))
                == "its model has byte_fallback: true, which attn does not reproduce")
        #expect(bpeProblem(changing(base, ["model", "ignore_merges"], to: true))
                == "its model has ignore_merges: true, which attn does not reproduce")
        #expect(bpeProblem(changing(base, ["model", "dropout"], to: 0.1))
                == "its model has dropout the number 0.1; attn reads null (dropout makes encoding random)")
        #expect(bpeProblem(changing(base, ["model", "continuing_subword_prefix"], to: "##"))
                == "its model's continuing_subword_prefix is \"##\"; attn reads none for byte-level BPE")
        // Byte 0x00 ("Ā") without a token: its id 0 goes to <|endoftext|>, no longer an added token.
        var withoutByte = changing(base, ["model", "vocab", "Ā"], to: nil)
        withoutByte = changing(withoutByte, ["model", "vocab", "<|endoftext|>"], to: 0)
        withoutByte = changing(withoutByte, ["added_tokens"], to: [] as [Any])
        #expect(bpeProblem(changing(withoutByte, ["model", "unk_token"], to: "<unk>"))
                == "its unk_token \"<unk>\" would stand for bytes without a token, such as \"Ā\", which attn drops as byte-level BPE does")
        #expect(throws: Never.self) {
            try withDirectory(["tokenizer.json": withoutByte]) { _ = try BPETokenizer(huggingFaceDirectory: $0) }
        }
        // dropout 0 and an unknown token that every byte's token leaves unused are harmless.
        #expect(throws: Never.self) {
            let harmless = changing(changing(base, ["model", "dropout"], to: 0), ["model", "unk_token"], to: "<|endoftext|>")
            try withDirectory(["tokenizer.json": harmless]) { _ = try BPETokenizer(huggingFaceDirectory: $0) }
        }
    }

    @Test("Added tokens: typed fields, tokenizers' ids, and matching attn reproduces")
    func addedTokens() {
        let base = gpt2JSON()
        #expect(bpeProblem(changing(base, ["added_tokens"], to: ["id": 259])) == "added_tokens is an object, not a list")
        #expect(bpeProblem(changing(base, ["added_tokens", 0, "id"], to: "259"))
                == "added_tokens[0].id is the string \"259\", not a whole number from 0")
        #expect(bpeProblem(changing(base, ["added_tokens", 0, "special"], to: 1))
                == "added_tokens[0].special is the number 1, not true or false")
        #expect(bpeProblem(changing(base, ["added_tokens", 0, "content"], to: "")) == "added_tokens[0] is an empty token")
        #expect(bpeProblem(changing(base, ["added_tokens", 0, "lstrip"], to: true))
                == "added token \"<|endoftext|>\" has lstrip: true, which attn does not reproduce")
        #expect(bpeProblem(changing(base, ["added_tokens", 0, "id"], to: 7))
                == "added token \"<|endoftext|>\" has id 7, but tokenizers gives it 259, its id in the vocabulary")
        #expect(bpeProblem(changing(base, ["added_tokens", 0], to: ["id": 261, "content": "<new>", "special": true]))
                == "added token \"<new>\" has id 261, but tokenizers gives it 260, the next id after the vocabulary")
        // "ab" matched in the raw text first, "bc" later: "abc" is not what one pass finds.
        let overlapping = changing(base, ["added_tokens"], to: [
            ["id": 260, "content": "<a|", "special": false, "normalized": false],
            ["id": 261, "content": "|b>", "special": false, "normalized": true],
        ])
        #expect(bpeProblem(overlapping)?.hasPrefix("added tokens \"<a|\" and \"|b>\" can overlap") == true)
    }

    @Test("WordPiece settings attn does not reproduce are refused, naming the setting")
    func unsupportedWordPiece() {
        let base = bertJSON()
        #expect(bertProblem(changing(base, ["model", "continuing_subword_prefix"], to: "@@"))
                == "its continuing_subword_prefix is \"@@\"; attn reads \"##\"")
        #expect(bertProblem(changing(base, ["model", "unk_token"], to: "<unk>"))
                == "its unk_token \"<unk>\" is not in the vocabulary")
        #expect(bertProblem(changing(base, ["model", "max_input_chars_per_word"], to: 1.5))
                == "model.max_input_chars_per_word is the number 1.5, not a whole number from 0")
        #expect(bertProblem(changing(base, ["normalizer"], to: ["type": "Lowercase"]))
                == "its normalizer is \"Lowercase\"; attn reads BertNormalizer or none")
        #expect(bertProblem(changing(base, ["normalizer", "lowercase"], to: "yes"))
                == "normalizer.lowercase is the string \"yes\", not true or false")
        #expect(bertProblem(changing(base, ["normalizer", "strip_accents"], to: 0))
                == "normalizer.strip_accents is the number 0, not true or false")
        #expect(bertProblem(changing(base, ["pre_tokenizer"], to: ["type": "Whitespace"]))
                == "its pre-tokenizer is \"Whitespace\"; attn reads BertPreTokenizer")
        #expect(bertProblem(changing(base, ["pre_tokenizer"], to: NSNull()))
                == "its pre-tokenizer is null; attn reads BertPreTokenizer")
        #expect(bertProblem(changing(base, ["post_processor"], to: NSNull()))
                == "its post-processor is null; attn reads TemplateProcessing or BertProcessing adding [CLS] … [SEP]")
        #expect(bertProblem(changing(base, ["post_processor"], to: ["type": "RobertaProcessing"]))
                == "its post-processor is \"RobertaProcessing\"; attn reads TemplateProcessing or BertProcessing adding [CLS] … [SEP]")
        #expect(bertProblem(changing(base, ["post_processor", "single", 2], to: nil))
                == "its post-processor's template is \"[CLS] $A\"; attn adds [CLS] $A [SEP]")
        #expect(bertProblem(changing(base, ["post_processor", "special_tokens", "[SEP]", "ids"], to: [3, 3]))
                == "its post-processor's \"[SEP]\" is 2 tokens; attn adds one")
        #expect(bertProblem(changing(base, ["post_processor", "special_tokens", "[SEP]", "ids"], to: [99]))
                == "its post-processor adds id 99, which is not in 0..<11")
        #expect(bertProblem(changing(base, ["added_tokens", 4, "normalized"], to: true))
                == "added token \"[MASK]\" has normalized: true, so tokenizers matches it in the normalized text; attn matches added tokens in the raw text only")
        #expect(problem(in: "tokenizer_config.json", { _ = try WordPieceTokenizer(huggingFaceDirectory: $0) },
                        files: ["vocab.txt": "[PAD]\n[UNK]\n[CLS]\n[SEP]\n", "tokenizer_config.json": ["do_lower_case": "no"]])
                == "do_lower_case is the string \"no\", not true or false")
    }

    @Test("A file larger than any tokenizer needs is refused before it is read")
    func hugeFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("tokenizer.json").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: (64 << 20) + 1)  // sparse: no disk space used
        try handle.close()
        for load in [{ _ = try BPETokenizer(huggingFaceDirectory: directory.path) },
                     { _ = try WordPieceTokenizer(huggingFaceDirectory: directory.path) }] {
            #expect {
                try load()
            } throws: { error in
                guard case let .fileUnreadable(errorPath, reason) = error as? AttnError else { return false }
                return errorPath == path && reason.contains("more than")
            }
        }
    }
}
