import AttnCore
import Foundation
import Testing

// MARK: - Reference data

/// Token ids and decoded texts that Hugging Face `tokenizers` produced for Gemma 3 270M, once,
/// with Tests/Reference/gemma3_tokenizer.py.
fileprivate struct GemmaFixture: Decodable {
    struct Case: Decodable {
        let text: String
        /// Without the BOS.
        let ids: [Int]
        /// `tokenizers`' decode of `ids`.
        let decoded: String
    }

    struct BOSCase: Decodable {
        let text: String
        /// `tokenizer(text)["input_ids"]`: with the BOS.
        let ids: [Int]
    }

    struct DecodeCase: Decodable {
        let ids: [Int]
        let decoded: String
    }

    let tokenizers: String
    let adds_bos: Bool
    let bos_id: Int
    let merges: Int
    let cases: [Case]
    let bos_cases: [BOSCase]
    let decode_cases: [DecodeCase]

    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gemma3-tokenizer.json").path

    static let loaded: Result<GemmaFixture, any Error> = Result {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AttnError.fileUnreadable(path: path, reason: "there is no such file")
        }
        return try JSONDecoder().decode(GemmaFixture.self, from: data)
    }

    static func load() throws -> GemmaFixture {
        try loaded.get()
    }
}

/// Gemma 3 270M's tokenizer, read once from the real GGUF file.
fileprivate enum Gemma3Tokenizer {
    static let path = ModelStore.root() + "/gemma3/gemma-3-270m-q4_k_m.gguf"

    static let file: Result<GGUFFile, any Error> = Result { try GGUFFile(path: path) }

    static let tokenizer: Result<SentencePieceTokenizer, any Error> = Result {
        try SentencePieceTokenizer(gguf: file.get())
    }

    static func require() throws -> SentencePieceTokenizer {
        var problem = ""
        if case let .failure(error) = tokenizer { problem = "\(error)" }
        return try #require(try? tokenizer.get(), """
            the Gemma 3 GGUF file is needed at \(path) (\(problem))
            """)
    }
}

/// The reason of a `.vocabularyInvalid` error thrown by `body`, or `nil` if it throws nothing
/// (any other error fails the test).
fileprivate func vocabularyProblem(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let AttnError.vocabularyInvalid(_, reason) {
        return reason
    } catch {
        Issue.record("expected AttnError.vocabularyInvalid, got \(error)")
        return nil
    }
}

/// Whether two strings are the same code points (Swift's `==` accepts canonical equivalents).
fileprivate func sameScalars(_ a: String, _ b: String) -> Bool {
    Array(a.unicodeScalars) == Array(b.unicodeScalars)
}

// MARK: - A small vocabulary laid out as Gemma's

/// A Gemma-shaped vocabulary: `<pad>` 0, `<eos>` 1, `<bos>` 2, `<unk>` 3 (control), the 256 byte
/// tokens `<0x00>`… (ids 4…259), then `normal` in order (type 1) and `extra` with their types.
/// The lower a token's id, the earlier its merge.
fileprivate struct TinyVocabulary {
    var tokens: [String]
    var types: [Int]

    init(_ normal: [String], extra: [(String, Int)] = [], missingBytes: Set<UInt8> = []) {
        tokens = ["<pad>", "<eos>", "<bos>", "<unk>"]
        types = [3, 3, 3, 3]
        for byte in 0..<256 where !missingBytes.contains(UInt8(byte)) {
            tokens.append("<0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true) + ">")
            types.append(6)
        }
        tokens += normal
        types += normal.map { _ in 1 }
        for (token, type) in extra {
            tokens.append(token)
            types.append(type)
        }
    }

    func tokenizer(unknownId: Int? = 3) throws -> SentencePieceTokenizer {
        try SentencePieceTokenizer(tokens: tokens, tokenTypes: types, bosId: 2, eosId: 1,
                                   unknownId: unknownId, addsBeginningToken: true)
    }

    /// The metadata of a GGUF file holding this vocabulary, as llama.cpp writes Gemma's, with
    /// `changes` replacing entries (a `nil` value removes one).
    func metadata(_ changes: [String: GGUFValue?] = [:]) -> [(String, GGUFValue)] {
        let entries: [(String, GGUFValue)] = [
            ("general.architecture", .string("gemma3")),
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.pre", .string("default")),
            ("tokenizer.ggml.tokens", .array(tokens.map { .string($0) })),
            // Scores that would rank the merges backwards: transformers does not use them.
            ("tokenizer.ggml.scores", .array(tokens.indices.map { .float32(Float($0)) })),
            ("tokenizer.ggml.token_type", .array(types.map { .int32(Int32($0)) })),
            ("tokenizer.ggml.bos_token_id", .uint32(2)),
            ("tokenizer.ggml.eos_token_id", .uint32(1)),
            ("tokenizer.ggml.unknown_token_id", .uint32(3)),
            ("tokenizer.ggml.padding_token_id", .uint32(0)),
            ("tokenizer.ggml.add_bos_token", .bool(true)),
            ("tokenizer.ggml.add_space_prefix", .bool(false)),
        ]
        var result: [(String, GGUFValue)] = []
        for (key, value) in entries {
            if let change = changes[key] {
                if let change { result.append((key, change)) }
            } else {
                result.append((key, value))
            }
        }
        for (key, value) in changes where !entries.contains(where: { $0.0 == key }) {
            if let value { result.append((key, value)) }
        }
        return result
    }

    /// The tokenizer of a GGUF file written with `metadata(changes)`.
    func gguf(_ changes: [String: GGUFValue?] = [:]) throws -> SentencePieceTokenizer {
        try SentencePieceTokenizer(gguf: open(ggufFile(metadata: metadata(changes))))
    }
}

// MARK: - Parity with Hugging Face

@Suite("SentencePiece tokenizer parity with Hugging Face (Gemma 3)")
struct SentencePieceParityTests {
    @Test("Every corpus text encodes to the ids Hugging Face tokenizers produced")
    func corpusMatchesPython() throws {
        let tokenizer = try Gemma3Tokenizer.require()
        let fixture = try GemmaFixture.load()
        #expect(fixture.cases.count >= 900, "the fixture should hold the whole corpus")

        try expectCorpusParity(fixture.cases.map { ($0.text, $0.ids) }, tokenizers: fixture.tokenizers,
                               encode: tokenizer.encode, tokens: { $0.map(tokenizer.tokenText) })
    }

    @Test("Decoding gives the text Hugging Face decodes: the corpus, broken runs of bytes, ids out of range")
    func decodeMatchesPython() throws {
        let tokenizer = try Gemma3Tokenizer.require()
        let fixture = try GemmaFixture.load()
        for reference in fixture.cases {
            let decoded = tokenizer.decode(reference.ids)
            #expect(sameScalars(decoded, reference.decoded),
                    "ids \(reference.ids) of \(String(reflecting: reference.text)) decode to \(String(reflecting: decoded))")
            #expect(sameScalars(tokenizer.decode(tokenizer.encode(reference.text)), reference.decoded))
        }
        #expect(fixture.decode_cases.count >= 20)
        for reference in fixture.decode_cases {
            let decoded = tokenizer.decode(reference.ids)
            #expect(sameScalars(decoded, reference.decoded),
                    "ids \(reference.ids) decode to \(String(reflecting: decoded)), expected \(String(reflecting: reference.decoded))")
        }
    }

    @Test("Hugging Face adds the BOS; encode does not, and BOS + encode is what it gives")
    func beginningToken() throws {
        let tokenizer = try Gemma3Tokenizer.require()
        let fixture = try GemmaFixture.load()
        #expect(fixture.adds_bos)
        #expect(tokenizer.addsBeginningToken)
        #expect(tokenizer.bosId == fixture.bos_id)
        #expect(tokenizer.bosId == 2)
        #expect(tokenizer.eosId == 1)
        #expect(tokenizer.vocabulary[2] == "<bos>")
        #expect(tokenizer.vocabulary[1] == "<eos>")
        #expect(fixture.bos_cases.count >= 5)
        for reference in fixture.bos_cases {
            let bos = try #require(tokenizer.bosId)
            #expect([bos] + tokenizer.encode(reference.text) == reference.ids,
                    "text \(String(reflecting: reference.text))")
        }
        #expect(tokenizer.encode("") == [])
        #expect(tokenizer.encode("Hello, world!") == [9259, 236764, 1902, 236888])
    }

    @Test("Control and user-defined tokens typed in the text stand for themselves; near misses do not")
    func addedTokensInText() throws {
        let tokenizer = try Gemma3Tokenizer.require()
        #expect(tokenizer.encode("<start_of_turn>user\nHi<end_of_turn>\n") == [105, 2364, 107, 10979, 106, 107])
        #expect(tokenizer.encode("<bos><eos><pad><unk>") == [2, 1, 0, 3])
        #expect(!tokenizer.encode("<START_OF_TURN>").contains(105))
        #expect(!tokenizer.encode("<start_of_turn").contains(105))
        // User-defined: newlines and tabs in runs up to 31, HTML tags; the longest run first.
        #expect(tokenizer.encode("\n\n\n") == [109])
        #expect(tokenizer.encode(String(repeating: "\n", count: 32)) == [137, 107])
        #expect(tokenizer.encode("<table>") == [168])
        #expect(tokenizer.encode("[multimodal]") == [5])
    }

    @Test("Runs of spaces, stored as spaces, are reached by merging ▁s, not matched whole")
    func runsOfSpaces() throws {
        let tokenizer = try Gemma3Tokenizer.require()
        #expect(tokenizer.vocabulary[138] == "  ")
        #expect(tokenizer.id(of: "  ") == 138)
        #expect(tokenizer.id(of: "▁▁") == 138)
        #expect(tokenizer.encode("a  b") == [236746, 138, 236763])
        #expect(tokenizer.encode("  the") == [138, 1437])
        #expect(tokenizer.tokenText(138) == "  ")
        #expect(tokenizer.label(138) == "··")
    }

    @Test("Characters without a token fall back to byte tokens, which decode back to them")
    func byteFallback() throws {
        let tokenizer = try Gemma3Tokenizer.require()
        // U+1F000 (🀀) is F0 9F 80 80; <0x00> is id 238.
        let ids = tokenizer.encode("\u{1F000}")
        #expect(ids == [238 + 0xF0, 238 + 0x9F, 238 + 0x80, 238 + 0x80])
        #expect(ids.map(tokenizer.tokenText) == ["<0xF0>", "<0x9F>", "<0x80>", "<0x80>"])
        #expect(tokenizer.decode(ids) == "\u{1F000}")
        #expect(tokenizer.encode("a\u{0}b") == [236746, 238, 236763])
        #expect(tokenizer.tokenText(238) == "\u{0}")
        #expect(tokenizer.label(238) == "\\u{0}")
        #expect(tokenizer.tokenText(248) == "\n")  // <0x0A>
        #expect(tokenizer.vocabulary[248] == "<0x0A>")
        // The text "<0x41>" is six characters, not the byte token.
        #expect(!tokenizer.encode("<0x41>").contains(238 + 0x41))
    }

    @Test("Token text: ▁ as a space, control tokens as written, stray bytes as <0xNN>")
    func tokenText() throws {
        let tokenizer = try Gemma3Tokenizer.require()
        #expect(tokenizer.vocabulary[9079] == "▁Paris")
        #expect(tokenizer.tokenText(9079) == " Paris")
        #expect(tokenizer.label(9079) == "·Paris")
        #expect(tokenizer.id(of: "▁Paris") == 9079)
        #expect(tokenizer.tokenText(105) == "<start_of_turn>")
        #expect(tokenizer.tokenText(2) == "<bos>")
        #expect(tokenizer.tokenText(107) == "\n")
        #expect(tokenizer.label(107) == "↵")
        #expect(tokenizer.tokenText(466) == "<0xE4>")
        #expect(tokenizer.tokenText(-1) == "")
        #expect(tokenizer.tokenText(tokenizer.vocabulary.count) == "")
        #expect(tokenizer.label(-1) == "∅")
        #expect(tokenizer.id(of: "no such token") == nil)
    }

    @Test("The tokenizer of the GGUF file holds its 262,144 tokens as stored")
    func fromGGUF() throws {
        let tokenizer = try Gemma3Tokenizer.require()
        let metadata = try Gemma3Tokenizer.file.get().metadata
        #expect(metadata["tokenizer.ggml.model"]?.string == "llama")
        #expect(tokenizer.vocabulary.count == 262_144)
        #expect(tokenizer.vocabulary == metadata["tokenizer.ggml.tokens"]?.strings)
        // Every token is found under its own id, as stored.
        for id in stride(from: 0, to: tokenizer.vocabulary.count, by: 97) {
            #expect(tokenizer.id(of: tokenizer.vocabulary[id]) == id)
        }
    }

    @Test("Building from the GGUF and encoding a paragraph: times printed, not asserted")
    func timing() throws {
        let file = try #require(try? Gemma3Tokenizer.file.get())
        let tokenizer = try Gemma3Tokenizer.require()
        let clock = ContinuousClock()
        var built: SentencePieceTokenizer?
        let building = try clock.measure { built = try SentencePieceTokenizer(gguf: file) }
        let fresh = try #require(built)
        let sentence = "Attention lets every token build its new representation as a weighted average of "
            + "all the tokens' values, and the weights come from a softmax over scaled dot products. "
        let paragraph = String(repeating: sentence, count: 20)
        var ids: [Int] = []
        let encoding = clock.measure { ids = fresh.encode(paragraph) }
        var decoded = ""
        let decoding = clock.measure { decoded = fresh.decode(ids) }
        #expect(ids == tokenizer.encode(paragraph))
        #expect(decoded == paragraph)
        #expect(ids.count > 600)
        print("SentencePieceTokenizer: built from the GGUF in \(building), encoded \(paragraph.utf8.count) bytes "
              + "to \(ids.count) tokens in \(encoding), decoded them in \(decoding)")
    }
}

// MARK: - Streaming

@Suite("SentencePiece stream decoding")
struct SentencePieceStreamTests {
    @Test("Pushes joined with finish() are decode(all), for the corpus and the broken runs")
    func streamingMatchesFullDecode() throws {
        let tokenizer = try Gemma3Tokenizer.require()
        let fixture = try GemmaFixture.load()
        let sequences = fixture.cases.map(\.ids) + fixture.decode_cases.map(\.ids)
        for ids in sequences {
            var stream = SentencePieceTokenizer.StreamDecoder(tokenizer: tokenizer)
            let output = ids.map { stream.push($0) }.joined() + stream.finish()
            #expect(sameScalars(output, tokenizer.decode(ids)), "streaming \(ids)")
        }
    }

    @Test("A run of byte tokens is held back until a token that is not one ends it")
    func runsAreHeldBack() throws {
        let tokenizer = try Gemma3Tokenizer.require()
        var stream = SentencePieceTokenizer.StreamDecoder(tokenizer: tokenizer)
        for id in tokenizer.encode("\u{1F000}") { #expect(stream.push(id) == "") }
        #expect(stream.push(7546) == "\u{1F000} ok")
        #expect(stream.finish() == "")
        // A later byte can break the whole run: é then a stray continuation byte is three U+FFFD.
        #expect(stream.push(238 + 0xC3) == "")
        #expect(stream.push(238 + 0xA9) == "")
        #expect(stream.push(238 + 0x80) == "")
        #expect(stream.finish() == "\u{FFFD}\u{FFFD}\u{FFFD}")
        #expect(stream.finish() == "")
        // Plain tokens come out at once.
        #expect(stream.push(9079) == " Paris")
        #expect(stream.push(tokenizer.vocabulary.count) == "")
    }
}

// MARK: - The parts, on small vocabularies

@Suite("SentencePiece tokenizer parts")
struct SentencePiecePartsTests {
    @Test("The pair whose token comes first in the vocabulary merges first; the scores are not used")
    func mergeOrder() throws {
        // "ab" before "bc": "abc" → ab, c; the other way round: a, bc.
        let vocabulary = TinyVocabulary(["a", "b", "c", "ab", "bc"])
        let tokenizer = try vocabulary.gguf()
        let ids = { (tokens: [String]) in tokens.compactMap { tokenizer.id(of: $0) } }
        #expect(tokenizer.encode("abc") == ids(["ab", "c"]))
        let reversed = try TinyVocabulary(["a", "b", "c", "bc", "ab"]).gguf()
        #expect(reversed.encode("abc").map(reversed.tokenText) == ["a", "bc"])
        // Equal pairs: the leftmost first, so "aaa" is "aa", "a".
        let doubled = try TinyVocabulary(["a", "aa"]).tokenizer()
        #expect(doubled.encode("aaa").map(doubled.tokenText) == ["aa", "a"])
        // Merges chain across what a reader calls words: there is no pre-tokenizer.
        let chained = try TinyVocabulary(["▁", "a", "b", "▁a", "a▁", "a▁b"]).tokenizer()
        #expect(chained.encode("a b").map(chained.tokenText) == ["a b"])
        #expect(chained.encode(" a").map(chained.tokenText) == [" a"])
    }

    @Test("A character without a token becomes its byte tokens; without those, one <unk> for a run")
    func byteFallbackAndUnknown() throws {
        let tokenizer = try TinyVocabulary(["a", "b"]).tokenizer()
        let e = try #require(tokenizer.id(of: "<0xC3>")), acute = try #require(tokenizer.id(of: "<0xA9>"))
        let a = try #require(tokenizer.id(of: "a")), b = try #require(tokenizer.id(of: "b"))
        #expect(tokenizer.encode("aéb") == [a, e, acute, b])
        #expect(tokenizer.decode([a, e, acute, b]) == "aéb")
        #expect(tokenizer.tokenText(e) == "<0xC3>")
        #expect(tokenizer.decode([e]) == "\u{FFFD}")
        #expect(tokenizer.decode([e, a]) == "\u{FFFD}a")

        // Without the byte tokens of é, the unknown token stands for it, once for a whole run.
        let sparse = try TinyVocabulary(["a", "b"], missingBytes: [0xC3]).tokenizer()
        let a2 = try #require(sparse.id(of: "a"))
        #expect(sparse.encode("aééb") == [a2, 3, try #require(sparse.id(of: "b"))])
        #expect(sparse.encode("é") == [3])
        // As tokenizers does, the <unk> waits for the next character that is a token: a character
        // spelled in byte tokens in between goes in first, and the unknown ones on both sides share it.
        let x = try #require(sparse.id(of: "<0x78>"))
        #expect(sparse.encode("éxé") == [x, 3])
        #expect(sparse.decode([3]) == "<unk>")
    }

    @Test("Control and user-defined tokens are matched whole, longest first; normal tokens are not")
    func addedTokens() throws {
        let vocabulary = TinyVocabulary(["a", "b", "<", ">", "x", "y", "<x>"],
                                        extra: [("<xy>", 3), ("<y>", 4), ("\n", 4), ("\n\n", 4)])
        let tokenizer = try vocabulary.tokenizer()
        let xy = try #require(tokenizer.id(of: "<xy>")), y = try #require(tokenizer.id(of: "<y>"))
        let newline = try #require(tokenizer.id(of: "\n")), two = try #require(tokenizer.id(of: "\n\n"))
        #expect(tokenizer.encode("<xy><y>") == [xy, y])
        #expect(tokenizer.encode("\n\n\n") == [two, newline])
        #expect(tokenizer.encode("<bos>a<eos>") == [2, try #require(tokenizer.id(of: "a")), 1])
        // "<x>" is a normal token: only merges could make it ("<x" is not a token), and it is not cut out.
        #expect(tokenizer.encode("<x>").map(tokenizer.tokenText) == ["<", "x", ">"])
        #expect(tokenizer.tokenText(xy) == "<xy>")
        #expect(tokenizer.decode([2, xy, y]) == "<bos><xy><y>")
    }

    @Test("Tokens of spaces are respelled ▁▁ and merged, never matched whole, even when user-defined")
    func spaces() throws {
        let tokenizer = try TinyVocabulary(["▁", "a", "b"], extra: [("  ", 4)]).tokenizer()
        let a = try #require(tokenizer.id(of: "a")), b = try #require(tokenizer.id(of: "b"))
        let two = try #require(tokenizer.id(of: "  "))
        #expect(tokenizer.id(of: "▁▁") == two)
        #expect(tokenizer.encode("a  b") == [a, two, b])
        #expect(tokenizer.decode([a, two, b]) == "a  b")
        #expect(tokenizer.tokenText(two) == "  ")
        // Any whitespace token holding a space is respelled: " \t" is "▁▁", and decodes as two spaces.
        let tab = try TinyVocabulary(["▁", "a"], extra: [(" \t", 1)]).tokenizer()
        let spaceTab = try #require(tab.id(of: " \t"))
        #expect(tab.id(of: "▁▁") == spaceTab)
        #expect(tab.encode("  ") == [spaceTab])
        #expect(tab.encode(" \t") != [spaceTab])
        #expect(tab.decode([spaceTab]) == "  ")
        #expect(tab.vocabulary[spaceTab] == " \t")
    }
}

// MARK: - Untrusted files

@Suite("SentencePiece tokenizer from untrusted GGUF metadata")
struct SentencePieceUntrustedTests {
    fileprivate static let vocabulary = TinyVocabulary(["▁", "a", "b", "ab"])

    @Test("A well-formed small file loads, and its scores do not change the merges")
    func wellFormed() throws {
        let tokenizer = try Self.vocabulary.gguf()
        #expect(tokenizer.addsBeginningToken)
        #expect(tokenizer.bosId == 2 && tokenizer.eosId == 1)
        #expect(tokenizer.encode("ab a").map(tokenizer.tokenText) == ["ab", " ", "a"])
        let without = try Self.vocabulary.gguf(["tokenizer.ggml.add_bos_token": .bool(false)])
        #expect(!without.addsBeginningToken)
        // transformers assumes a BOS when the file does not say.
        #expect(try Self.vocabulary.gguf(["tokenizer.ggml.add_bos_token": nil]).addsBeginningToken)
    }

    @Test("Each broken or unsupported metadata entry is an error that names it", arguments: [
        (["tokenizer.ggml.scores": nil], "it has no tokenizer.ggml.scores"),
        (["tokenizer.ggml.scores": .array([.float32(0), .float32(1)])], "it has 2 scores for 264 tokens"),
        (["tokenizer.ggml.scores": .array(Array(repeating: .string("x"), count: 264))],
         "tokenizer.ggml.scores is not a list of numbers"),
        (["tokenizer.ggml.scores": .float32(0)], "tokenizer.ggml.scores is not a list of numbers"),
        (["tokenizer.ggml.tokens": nil], "tokenizer.ggml.tokens is missing or not a list of strings"),
        (["tokenizer.ggml.tokens": .array([.uint8(1)])], "tokenizer.ggml.tokens is missing or not a list of strings"),
        (["tokenizer.ggml.tokens": .array([]), "tokenizer.ggml.scores": .array([])], "it has no tokens"),
        (["tokenizer.ggml.token_type": .array([.int32(1)])], "it has 1 token types for 264 tokens"),
        (["tokenizer.ggml.token_type": .array(Array(repeating: .string("x"), count: 264))],
         "tokenizer.ggml.token_type is not a list of integers"),
        (["tokenizer.ggml.unknown_token_id": .uint32(264)], "its unknown token id 264 is not in 0..<264"),
        (["tokenizer.ggml.bos_token_id": .int32(-1)], "its BOS token id -1 is not in 0..<264"),
        (["tokenizer.ggml.eos_token_id": .uint64(UInt64.max)], "tokenizer.ggml.eos_token_id is not an integer"),
        (["tokenizer.ggml.bos_token_id": .string("<bos>")], "tokenizer.ggml.bos_token_id is not an integer"),
        (["tokenizer.ggml.padding_token_id": .uint32(1000)], "its padding token id 1000 is not in 0..<264"),
        (["tokenizer.ggml.bos_token_id": nil], "it asks for a BOS token before every text (add_bos_token) but names none (bos_token_id)"),
        (["tokenizer.ggml.add_bos_token": .uint8(1)], "tokenizer.ggml.add_bos_token is not true or false"),
        (["tokenizer.ggml.add_space_prefix": .bool(true)],
         "it asks for a space before the text (add_space_prefix), which transformers does not add for Gemma; attn does not choose between them"),
        (["tokenizer.ggml.model": .string("gpt2")], "its tokenizer is \"gpt2\", not SentencePiece (\"llama\")"),
        (["tokenizer.ggml.model": nil], "it has no tokenizer.ggml.model"),
        (["general.architecture": .string("llama")],
         "its architecture is \"llama\": attn reproduces the SentencePiece tokenizer transformers builds for gemma, gemma2, gemma3 only"),
        (["general.architecture": nil],
         "it names no architecture (general.architecture): attn reproduces the SentencePiece tokenizer transformers builds for gemma, gemma2, gemma3 only"),
        (["tokenizer.ggml.merges": .array([.string("a b")])],
         "it lists merges (tokenizer.ggml.merges); attn derives Gemma's merges from the token order, as transformers does when there are none"),
        (["tokenizer.ggml.pre": .string("llama3")], "its pre-tokenizer (tokenizer.ggml.pre) is \"llama3\"; attn reads \"default\""),
    ] as [([String: GGUFValue?], String)])
    func brokenEntry(changes: [String: GGUFValue?], reason: String) {
        #expect(vocabularyProblem { _ = try Self.vocabulary.gguf(changes) } == reason)
    }

    @Test("A token type outside llama.cpp's 0…6 is named with its token", arguments: [7, -1, 1000])
    func tokenTypeOutOfRange(type: Int) {
        var types = Self.vocabulary.types.map { GGUFValue.int32(Int32($0)) }
        types[261] = .int32(Int32(type))
        let reason = vocabularyProblem { _ = try Self.vocabulary.gguf(["tokenizer.ggml.token_type": .array(types)]) }
        #expect(reason == """
            token 261 has type \(type); llama.cpp's types are 0…6 (1 normal, 2 unknown, 3 control, \
            4 user-defined, 5 unused, 6 byte)
            """)
    }

    @Test("Vocabularies attn cannot reproduce exactly are refused, saying why")
    func unusableVocabularies() {
        #expect(vocabularyProblem { _ = try TinyVocabulary(["a", "b", "a"]).tokenizer() }
                == "tokens 260 and 262 are both \"a\"; attn needs each token once")
        #expect(vocabularyProblem { _ = try TinyVocabulary(["▁▁", "  "]).tokenizer() }
                == "tokens 260 and 261 are both \"▁▁\" as transformers spells them (runs of spaces as ▁); attn needs each token once")
        #expect(vocabularyProblem { _ = try TinyVocabulary(["a"], extra: [("   ", 3)]).tokenizer() }
                == "control token 261 is made of spaces, which transformers adds as a new token after the vocabulary; attn does not reproduce that")
        #expect(vocabularyProblem { _ = try TinyVocabulary(["a"], missingBytes: [0x41]).tokenizer(unknownId: nil) }
                == "it has no token <0x41> and no unknown token (unknown_token_id), so some text could not be encoded")
        #expect(vocabularyProblem { _ = try TinyVocabulary(["a"], missingBytes: [0x41]).tokenizer() } == nil)
    }

    @Test("Hostile text never crashes: every kind of character, lone bytes of byte tokens, huge ids")
    func hostileText() throws {
        let tokenizer = try TinyVocabulary(["▁", "a"], missingBytes: [0xF0]).tokenizer()
        let text = "a\u{0}\u{10FFFF}😀 \u{FEFF}<bos" + String(repeating: "\u{301}", count: 50)
        let ids = tokenizer.encode(text)
        #expect(ids.allSatisfy { tokenizer.vocabulary.indices.contains($0) })
        #expect(tokenizer.decode([Int.min, -1, Int.max, 4, 1_000_000]) == "\u{0}")
        var stream = SentencePieceTokenizer.StreamDecoder(tokenizer: tokenizer)
        #expect(stream.push(Int.max) == "")
        #expect(stream.finish() == "")
    }
}

// MARK: - Hugging Face tokenizer.json

/// Ids and decoded texts that `tokenizers` gave two tiny SentencePiece tokenizer.json files, in
/// Llama 2's shape and Gemma's (Tests/Reference/tiny_sentencepiece.py).
fileprivate struct TinySentencePieceFixture: Decodable {
    struct Tokenizer: Decodable {
        let adds_bos: Bool
        let bos_id: Int
        let cases: [GemmaFixture.Case]
        let decode_cases: [GemmaFixture.DecodeCase]
    }

    let tokenizers: String
    let llama2: Tokenizer
    let gemma: Tokenizer

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static let loaded: Result<TinySentencePieceFixture, any Error> = Result {
        let path = fixtures + "/tiny-sentencepiece-tokenizer.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AttnError.fileUnreadable(path: path, reason: "there is no such file")
        }
        return try JSONDecoder().decode(TinySentencePieceFixture.self, from: data)
    }

    /// The fixture of tokenizer `name` ("llama2" or "gemma") and the directory of its tokenizer.json.
    static func load(_ name: String) throws -> (tokenizer: Tokenizer, directory: String) {
        let fixture = try loaded.get()
        return (name == "llama2" ? fixture.llama2 : fixture.gemma, fixtures + "/tiny-sentencepiece/" + name)
    }
}

/// A copy of the tiny Llama 2-shaped tokenizer.json with `change` applied to its JSON, in a
/// temporary directory that `body` gets.
fileprivate func withChangedTokenizerJSON(_ change: (inout [String: Any]) -> Void,
                                          _ body: (String) throws -> Void) throws {
    let source = TinySentencePieceFixture.fixtures + "/tiny-sentencepiece/llama2/tokenizer.json"
    let data = try #require(FileManager.default.contents(atPath: source))
    var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    change(&json)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("attn-sp-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: directory + "/tokenizer.json"))
    try body(directory)
}

@Suite("SentencePiece tokenizer from a Hugging Face tokenizer.json")
struct SentencePieceTokenizerJSONTests {
    @Test("Every corpus text encodes and decodes as tokenizers does, in Llama 2's shape and Gemma's",
          arguments: ["llama2", "gemma"])
    func corpusMatchesPython(name: String) throws {
        let (fixture, directory) = try TinySentencePieceFixture.load(name)
        let tokenizer = try SentencePieceTokenizer(huggingFaceDirectory: directory)
        #expect(fixture.cases.count >= 380)
        try expectCorpusParity(fixture.cases.map { ($0.text, $0.ids) },
                               tokenizers: try TinySentencePieceFixture.loaded.get().tokenizers,
                               encode: tokenizer.encode, tokens: { $0.map(tokenizer.tokenText) })
        for reference in fixture.cases + fixture.decode_cases.map({ .init(text: "", ids: $0.ids, decoded: $0.decoded) }) {
            #expect(sameScalars(tokenizer.decode(reference.ids), reference.decoded), "ids \(reference.ids)")
            var stream = SentencePieceTokenizer.StreamDecoder(tokenizer: tokenizer)
            let streamed = reference.ids.map { stream.push($0) }.joined() + stream.finish()
            #expect(sameScalars(streamed, reference.decoded), "streaming \(reference.ids)")
        }
        #expect(tokenizer.addsBeginningToken == fixture.adds_bos)
        #expect(tokenizer.bosId == fixture.bos_id)
    }

    @Test("Llama 2's shape: a ▁ before each piece of text, one space stripped when decoding")
    func llamaShape() throws {
        let (_, directory) = try TinySentencePieceFixture.load("llama2")
        let tokenizer = try SentencePieceTokenizer(huggingFaceDirectory: directory)
        #expect(tokenizer.bosId == 1 && tokenizer.eosId == 2)
        #expect(tokenizer.vocabulary[0] == "<unk>" && tokenizer.vocabulary[3] == "<0x00>")
        let the = try #require(tokenizer.id(of: "▁the"))
        #expect(tokenizer.encode("the") == [the])
        #expect(tokenizer.encode("<s>the") == [1, the])
        #expect(tokenizer.decode([the, the]) == "the the")
        #expect(tokenizer.decode([1, the]) == "<s> the")
        #expect(tokenizer.tokenText(the) == " the")
        #expect(tokenizer.encode("") == [])
    }

    @Test("What attn does not reproduce is refused in one sentence naming the setting")
    func refusals() throws {
        func problem(_ change: (inout [String: Any]) -> Void) throws -> String? {
            var reason: String?
            try withChangedTokenizerJSON(change) { directory in
                reason = vocabularyProblem { _ = try SentencePieceTokenizer(huggingFaceDirectory: directory) }
            }
            return reason
        }
        func model(_ edit: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
            { json in
                var model = json["model"] as? [String: Any] ?? [:]
                edit(&model)
                json["model"] = model
            }
        }
        #expect(try problem { _ in } == nil)
        #expect(try problem { $0["pre_tokenizer"] = ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false] }
                == "its pre-tokenizer is \"Metaspace\"; attn reads none, or Split(\" \", merged_with_previous)")
        #expect(try problem { $0["normalizer"] = ["type": "NFKC"] }
                == "its normalizer is \"NFKC\"; attn reads Replace(\" \", \"▁\"), alone or after Prepend(\"▁\")")
        #expect(try problem { $0["normalizer"] = NSNull() }
                == "its normalizer is null; attn reads Replace(\" \", \"▁\"), alone or after Prepend(\"▁\")")
        #expect(try problem(model { $0["byte_fallback"] = false })
                == "its model has byte_fallback: false; attn reads SentencePiece's true")
        #expect(try problem(model { $0["fuse_unk"] = false })
                == "its model has fuse_unk: false; attn reads SentencePiece's true")
        #expect(try problem(model { $0["dropout"] = 0.1 })
                == "its model has dropout the number 0.1; attn reads null (dropout makes encoding random)")
        #expect(try problem(model { $0["merges"] = [["▁", "zzz"]] })
                == "merge 0 (\"▁\" \"zzz\") names \"zzz\", which is not a token")
        #expect(try problem(model { $0["unk_token"] = "<nope>" })
                == "its unk_token \"<nope>\" is not in its vocabulary")
        #expect(try problem {
            var decoder = $0["decoder"] as? [String: Any] ?? [:]
            decoder["decoders"] = (decoder["decoders"] as? [Any] ?? []).dropLast().map { $0 }
            $0["decoder"] = decoder
        } == "its normalizer prepends ▁ but its decoder does not strip the space; attn reads both or neither")
        #expect(try problem { $0["decoder"] = ["type": "Metaspace"] }
                == "its decoder is \"Metaspace\"; attn reads Sequence[Replace(\"▁\", \" \"), ByteFallback, Fuse], then Strip(\" \", 1, 0) or not")
        #expect(try problem {
            $0["post_processor"] = ["type": "TemplateProcessing",
                                    "single": [["SpecialToken": ["id": "<s>"]], ["Sequence": ["id": "A"]], ["SpecialToken": ["id": "</s>"]]]]
        } == "its post-processor is \"TemplateProcessing adding other tokens\"; attn reads none, or a template adding at most a BOS before the text")
        #expect(try problem {
            var added = $0["added_tokens"] as? [[String: Any]] ?? []
            added[1]["normalized"] = true
            $0["added_tokens"] = added
        }?.contains("added token \"<s>\" has normalized: true") == true)
        // No BOS when the template adds none.
        try withChangedTokenizerJSON({ $0["post_processor"] = NSNull() }) { directory in
            let tokenizer = try SentencePieceTokenizer(huggingFaceDirectory: directory)
            #expect(!tokenizer.addsBeginningToken && tokenizer.bosId == nil)
        }
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("attn-sp-missing-\(UUID().uuidString)").path
        #expect(throws: AttnError.self) { _ = try SentencePieceTokenizer(huggingFaceDirectory: missing) }
    }
}
