import AttnCore
import Foundation
import Testing

// MARK: - Reference data

/// Token ids and decoded texts that Hugging Face `tokenizers` produced for SmolLM2, once, with
/// Tests/Reference/smollm2_tokenizer.py.
fileprivate struct BPEFixture: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        /// `tokenizers`' decode of `ids`.
        let decoded: String
        /// The pieces Hugging Face's pre-tokenizer (Digits, then ByteLevel's regex) cuts.
        let pieces: [String]
        /// The ids under GPT-2's regex alone, where they differ from `ids`.
        let gpt2Ids: [Int]?

        enum CodingKeys: String, CodingKey {
            case text, ids, decoded, pieces
            case gpt2Ids = "gpt2_ids"
        }
    }

    struct DecodeCase: Decodable {
        let ids: [Int]
        let decoded: String
    }

    let tokenizers: String
    let adds_bos: Bool
    let cases: [Case]
    let decode_cases: [DecodeCase]

    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/smollm2-tokenizer.json").path

    static let loaded: Result<BPEFixture, any Error> = Result {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AttnError.fileUnreadable(path: path, reason: "there is no such file")
        }
        return try JSONDecoder().decode(BPEFixture.self, from: data)
    }

    static func load() throws -> BPEFixture {
        try loaded.get()
    }
}

/// SmolLM2-135M-Instruct's tokenizer, read once from the real GGUF file.
///
/// `make test` fetches the weights first; without them the tests that need it fail and say so.
fileprivate enum SmolLM2Tokenizer {
    static let path = ModelStore.directory(for: .smollm2) + "/SmolLM2-135M-Instruct.Q4_1.gguf"

    static let file: Result<GGUFFile, any Error> = Result { try GGUFFile(path: path) }

    /// As the file describes it: `tokenizer.ggml.pre = "smollm"`.
    static let smollm: Result<BPETokenizer, any Error> = Result { try BPETokenizer(gguf: file.get()) }

    /// The same vocabulary with GPT-2's regex alone, which is what transformers builds from the file.
    static let gpt2: Result<BPETokenizer, any Error> = Result {
        let metadata = try file.get().metadata
        return try BPETokenizer(
            tokens: metadata["tokenizer.ggml.tokens"]?.strings ?? [],
            merges: metadata["tokenizer.ggml.merges"]?.strings ?? [],
            tokenTypes: metadata["tokenizer.ggml.token_type"]?.ints,
            bosId: metadata["tokenizer.ggml.bos_token_id"]?.int,
            eosId: metadata["tokenizer.ggml.eos_token_id"]?.int,
            preTokenizer: "gpt2")
    }

    static func require(_ loaded: Result<BPETokenizer, any Error> = smollm) throws -> BPETokenizer {
        var problem = ""
        if case let .failure(error) = loaded { problem = "\(error)" }
        return try #require(try? loaded.get(), """
            the SmolLM2 GGUF file is needed at \(path) (\(problem)): run `make test`, which fetches the weights
            """)
    }
}

/// The number of bytes the tokens of `ids` stand for.
fileprivate func byteCount(_ ids: some Sequence<Int>, _ tokenizer: BPETokenizer) -> Int {
    ids.reduce(0) { count, id in
        let token = tokenizer.vocabulary[id]
        return count + (ByteEncoder.decode(token)?.count ?? token.utf8.count)
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

/// A small byte-level vocabulary: the 256 one-byte tokens (less `missingBytes`), then each merge's
/// result, then `extra`. Ids: byte tokens in byte order, then the rest in order.
fileprivate func tinyTokenizer(merges: [String], extra: [String] = [], tokenTypes: [Int]? = nil,
                               missingBytes: Set<UInt8> = [], preTokenizer: String = "gpt2") throws -> BPETokenizer {
    var tokens = (0..<256).filter { !missingBytes.contains(UInt8($0)) }.map { String(ByteEncoder.characters[$0]) }
    for merge in merges {
        let token = merge.replacingOccurrences(of: " ", with: "")
        if !tokens.contains(token) { tokens.append(token) }
    }
    tokens += extra
    return try BPETokenizer(tokens: tokens, merges: merges,
                            tokenTypes: tokenTypes.map { Array(repeating: 1, count: tokens.count - $0.count) + $0 },
                            bosId: nil, eosId: nil, preTokenizer: preTokenizer)
}

// MARK: - Parity with Hugging Face

@Suite("BPE tokenizer parity with Hugging Face")
struct BPETokenizerParityTests {
    @Test("Every corpus text encodes to the ids Hugging Face tokenizers produced")
    func corpusMatchesPython() throws {
        let tokenizer = try SmolLM2Tokenizer.require()
        let fixture = try BPEFixture.load()
        #expect(fixture.cases.count >= 320, "the fixture should hold the whole corpus")

        try expectCorpusParity(fixture.cases.map { ($0.text, $0.ids) }, tokenizers: fixture.tokenizers,
                               encode: tokenizer.encode, tokens: { $0.map(tokenizer.tokenText) })
    }

    @Test("Every corpus text is cut into the pieces Hugging Face's pre-tokenizer cuts")
    func piecesMatchPython() throws {
        let fixture = try BPEFixture.load()
        for reference in fixture.cases {
            let pieces = PreTokenizer.smollm.split(reference.text)
            // Compared as code points: Swift's == would accept a canonically equivalent string.
            #expect(pieces.map { Array($0.unicodeScalars) } == reference.pieces.map { Array($0.unicodeScalars) },
                    "text \(String(reflecting: reference.text)): \(pieces) instead of \(reference.pieces)")
        }
    }

    @Test("With GPT-2's regex alone, the ids are those of transformers' tokenizer built from the GGUF")
    func gpt2RegexMatchesPython() throws {
        let tokenizer = try SmolLM2Tokenizer.require(SmolLM2Tokenizer.gpt2)
        let fixture = try BPEFixture.load()
        #expect(fixture.cases.contains { $0.gpt2Ids != nil }, "some texts should tell the two rules apart")
        for reference in fixture.cases {
            let expected = reference.gpt2Ids ?? reference.ids
            #expect(tokenizer.encode(reference.text) == expected, "text \(String(reflecting: reference.text))")
        }
    }

    @Test("Decoding gives the text Hugging Face decodes, for the corpus and for broken UTF-8")
    func decodeMatchesPython() throws {
        let tokenizer = try SmolLM2Tokenizer.require()
        let fixture = try BPEFixture.load()
        for reference in fixture.cases {
            // Compared as code points: Swift's == would accept a canonically equivalent string.
            let decoded = tokenizer.decode(reference.ids)
            #expect(Array(decoded.unicodeScalars) == Array(reference.decoded.unicodeScalars),
                    "ids \(reference.ids) of \(String(reflecting: reference.text)) decode to \(String(reflecting: decoded))")
            let roundTrip = tokenizer.decode(tokenizer.encode(reference.text))
            #expect(Array(roundTrip.unicodeScalars) == Array(reference.decoded.unicodeScalars))
        }
        #expect(fixture.decode_cases.count >= 10)
        for reference in fixture.decode_cases {
            let decoded = tokenizer.decode(reference.ids)
            #expect(Array(decoded.unicodeScalars) == Array(reference.decoded.unicodeScalars),
                    "ids \(reference.ids) decode to \(String(reflecting: decoded)), expected \(String(reflecting: reference.decoded))")
        }
    }

    @Test("No BOS is added, as in Hugging Face; the BOS and EOS ids come from the file")
    func noBOS() throws {
        let tokenizer = try SmolLM2Tokenizer.require()
        let fixture = try BPEFixture.load()
        #expect(fixture.adds_bos == false)
        #expect(tokenizer.bosId == 1)
        #expect(tokenizer.eosId == 2)
        #expect(tokenizer.vocabulary[1] == "<|im_start|>")
        #expect(tokenizer.vocabulary[2] == "<|im_end|>")
        #expect(tokenizer.encode("Hello, world!") == [19556, 28, 905, 17])
        #expect(tokenizer.encode("") == [])
    }

    @Test("Chat-template tokens typed in the text stand for themselves; near misses do not")
    func specialTokensInText() throws {
        let tokenizer = try SmolLM2Tokenizer.require()
        #expect(tokenizer.encode("<|im_start|>user\nHi<|im_end|>") == [1, 4093, 198, 26843, 2])
        #expect(tokenizer.encode("<|endoftext|>") == [0])
        #expect(!tokenizer.encode("<|IM_START|>").contains(1))
        #expect(!tokenizer.encode("<|im_start|").contains(1))
        #expect(tokenizer.encode("<|im_start|><|im_end|>") == [1, 2])
    }

    @Test("Digits are pieces of their own: whitespace before a digit stays a run")
    func digitSplitting() throws {
        let tokenizer = try SmolLM2Tokenizer.require()
        // "a  1": "a", "  " (one token, ĠĠ), "1".
        #expect(tokenizer.encode("a  1").map(tokenizer.tokenText) == ["a", "  ", "1"])
        #expect(tokenizer.encode("2024").map(tokenizer.tokenText) == ["2", "0", "2", "4"])
    }

    @Test("A 1000-word paragraph encodes in well under a second, even without the cache")
    func speed() throws {
        let tokenizer = try SmolLM2Tokenizer.require()
        let words = ["attention", "lets", "every", "token", "build", "its", "new", "representation",
                     "as", "a", "weighted", "average", "of", "values,", "2024", "transformers!"]
        let paragraph = (0..<1000).map { words[($0 * 7) % words.count] + ($0 % 37 == 0 ? "\n" : "") }
            .joined(separator: " ")
        // A fresh tokenizer has an empty cache.
        let fresh = try SmolLM2Tokenizer.require(Result { try BPETokenizer(gguf: SmolLM2Tokenizer.file.get()) })
        let clock = ContinuousClock()
        var ids: [Int] = []
        let elapsed = clock.measure { ids = fresh.encode(paragraph) }
        #expect(ids == tokenizer.encode(paragraph))
        #expect(ids.count > 1000)
        // Milliseconds in a release build; a debug build is several times slower.
        #expect(elapsed < .seconds(1), "encoding 1000 words took \(elapsed)")
    }
}

// MARK: - Decoding and display

@Suite("BPE decoding and token text")
struct BPEDecodingTests {
    @Test("Streaming decode gives back exactly the full decode, whole characters only, as soon as complete")
    func streamingMatchesFullDecode() throws {
        let tokenizer = try SmolLM2Tokenizer.require()
        let fixture = try BPEFixture.load()
        for reference in fixture.cases {
            var stream = BPETokenizer.StreamDecoder(tokenizer: tokenizer)
            var output = ""
            var pushed: [Int] = []
            let textScalars = Array(reference.decoded.unicodeScalars)
            for id in reference.ids {
                let chunk = stream.push(id)
                pushed.append(id)
                output += chunk
                // Whole characters only, and every character whose bytes have all arrived.
                let bytes = byteCount(pushed, tokenizer)
                var expected = String.UnicodeScalarView()
                var used = 0
                for scalar in textScalars {
                    used += UTF8.width(scalar)
                    if used > bytes { break }
                    expected.append(scalar)
                }
                // Where the text survives the round trip (a dropped byte can break a character)
                // and holds no U+FFFD of its own.
                if Array(reference.text.unicodeScalars) == textScalars, !textScalars.contains("\u{FFFD}") {
                    #expect(!chunk.unicodeScalars.contains("\u{FFFD}"),
                            "a partial character came out of \(String(reflecting: reference.text))")
                    #expect(Array(output.unicodeScalars) == Array(expected),
                            "after \(pushed) of \(String(reflecting: reference.text))")
                }
            }
            output += stream.finish()
            #expect(Array(output.unicodeScalars) == Array(reference.decoded.unicodeScalars))
        }
        for reference in fixture.decode_cases {
            var stream = BPETokenizer.StreamDecoder(tokenizer: tokenizer)
            let output = reference.ids.map { stream.push($0) }.joined() + stream.finish()
            #expect(Array(output.unicodeScalars) == Array(reference.decoded.unicodeScalars),
                    "streaming \(reference.ids)")
        }
    }

    @Test("An emoji split across three tokens comes out whole, with the third")
    func streamingEmoji() throws {
        let tokenizer = try SmolLM2Tokenizer.require()
        let ids = tokenizer.encode("😀")
        #expect(ids == [10813, 242, 218])  // "ðŁ" (F0 9F), "ĺ" (98), "Ģ" (80)
        var stream = BPETokenizer.StreamDecoder(tokenizer: tokenizer)
        #expect(stream.push(ids[0]) == "")
        #expect(stream.push(ids[1]) == "")
        #expect(stream.push(ids[2]) == "😀")
        #expect(stream.finish() == "")

        // An ideograph split across tokens, then more text.
        let cjk = tokenizer.encode("龘 ok")
        var pieces: [String] = []
        var cjkStream = BPETokenizer.StreamDecoder(tokenizer: tokenizer)
        for id in cjk { pieces.append(cjkStream.push(id)) }
        #expect(cjk.count > 2, "龘 should take more than one token")
        #expect(pieces.joined() == "龘 ok")
        #expect(pieces.allSatisfy { !$0.unicodeScalars.contains("\u{FFFD}") })
        #expect(pieces.first == "", "the first token holds only part of 龘")
    }

    @Test("A stream that ends inside a character finishes with U+FFFD, as decode does")
    func streamingIncompleteEnd() throws {
        let tokenizer = try SmolLM2Tokenizer.require()
        var stream = BPETokenizer.StreamDecoder(tokenizer: tokenizer)
        #expect(stream.push(10813) == "")
        #expect(stream.finish() == "\u{FFFD}")
        #expect(tokenizer.decode([10813]) == "\u{FFFD}")
        #expect(stream.finish() == "")
        // Bytes that can no longer become a character come out at once.
        #expect(stream.push(10813) == "")
        #expect(stream.push(81) == "\u{FFFD}a")
    }

    @Test("Token text shows bytes as text: Ġ as a space, control tokens as written, stray bytes as <0xNN>")
    func tokenText() throws {
        let tokenizer = try SmolLM2Tokenizer.require()
        #expect(tokenizer.tokenText(905) == " world")
        #expect(tokenizer.vocabulary[905] == "Ġworld")
        let the = try #require(tokenizer.id(of: "Ġthe"))
        #expect(tokenizer.tokenText(the) == " the")
        let newline = try #require(tokenizer.id(of: "Ċ"))
        #expect(tokenizer.tokenText(newline) == "\n")
        #expect(tokenizer.tokenText(1) == "<|im_start|>")
        #expect(tokenizer.tokenText(0) == "<|endoftext|>")
        #expect(tokenizer.tokenText(10813) == "<0xF0><0x9F>")
        #expect(tokenizer.tokenText(-1) == "")
        #expect(tokenizer.tokenText(tokenizer.vocabulary.count) == "")
        #expect(tokenizer.id(of: "no such token") == nil)
    }
}

// MARK: - The parts, on small vocabularies

@Suite("BPE tokenizer parts")
struct BPEPartsTests {
    @Test("The byte encoder maps 256 bytes to 256 printable characters and back")
    func byteEncoder() {
        #expect(Set(ByteEncoder.characters).count == 256)
        #expect(ByteEncoder.encode(Array(" the\n".utf8)) == "ĠtheĊ")
        #expect(ByteEncoder.decode("Ġthe") == [0x20, 0x74, 0x68, 0x65])
        #expect(ByteEncoder.decode("<|im_start|>") == Array("<|im_start|>".utf8))
        #expect(ByteEncoder.decode("中") == nil)
        #expect(ByteEncoder.characters[0x41] == "A")
        #expect(ByteEncoder.characters[0xAD] == "\u{0143}")  // the soft hyphen moves; it is the last
        for byte in 0...255 {
            #expect(ByteEncoder.byte(for: ByteEncoder.characters[byte]) == UInt8(byte))
        }
    }

    @Test("GPT-2's regex: contractions in lower case, a run's last space goes with the next word")
    func regex() {
        #expect(PreTokenizer.gpt2.split("I'm  fine,thanks!!\n")
                == ["I", "'m", " ", " fine", ",", "thanks", "!!", "\n"])
        #expect(PreTokenizer.gpt2.split("I'M") == ["I", "'", "M"])
        #expect(PreTokenizer.gpt2.split("a\t\tb") == ["a", "\t", "\t", "b"])
        #expect(PreTokenizer.gpt2.split("end  ") == ["end", "  "])
        #expect(PreTokenizer.gpt2.split("") == [])
    }

    @Test("SmolLM2's rule isolates every digit first; GPT-2's keeps runs of digits")
    func digits() {
        #expect(PreTokenizer.gpt2.split("a  12") == ["a", " ", " 12"])
        #expect(PreTokenizer.smollm.split("a  12") == ["a", "  ", "1", "2"])
        #expect(PreTokenizer.gpt2.split("2024") == ["2024"])
        #expect(PreTokenizer.smollm.split("2024") == ["2", "0", "2", "4"])
        #expect(PreTokenizer.smollm.split("Room 101.") == ["Room", " ", "1", "0", "1", "."])
        #expect(PreTokenizer.smollm.split("½x") == ["½", "x"])
    }

    @Test("Code points newer than Hugging Face's Unicode tables are symbols to the regex")
    func unicodeVersions() {
        // U+A7CE is a Latin letter of Unicode 17.0; Oniguruma (16.0) does not know it.
        #expect(PreTokenizer.gpt2.split("a\u{A7CE}b") == ["a", "\u{A7CE}", "b"])
        // U+11DE0 is a digit of Unicode 17.0: Rust knows it (Digits isolates it), Oniguruma not.
        #expect(PreTokenizer.smollm.split("a\u{11DE0}b") == ["a", "\u{11DE0}", "b"])
        #expect(PreTokenizer.gpt2.split("1\u{11DE0}") == ["1", "\u{11DE0}"])
    }

    @Test("The pair that comes first in the merge list merges first")
    func mergeOrder() throws {
        // "b c" ranks above "a b": "abc" → a, bc; reversed: ab, c.
        let tokenizer = try tinyTokenizer(merges: ["b c", "a b"])
        let ab = try #require(tokenizer.id(of: "ab")), bc = try #require(tokenizer.id(of: "bc"))
        let a = try #require(tokenizer.id(of: "a")), c = try #require(tokenizer.id(of: "c"))
        #expect(tokenizer.encode("abc") == [a, bc])
        let reversed = try tinyTokenizer(merges: ["a b", "b c"])
        #expect(reversed.encode("abc") == [try #require(reversed.id(of: "ab")), c])
        #expect(ab != bc)
        // Equal ranks: the leftmost pair first, so "aaa" is "aa", "a".
        let doubled = try tinyTokenizer(merges: ["a a"])
        #expect(doubled.encode("aaa") == [try #require(doubled.id(of: "aa")), a])
        // Merges chain: "Ġ t", "Ġt h", "Ġth e".
        let chained = try tinyTokenizer(merges: ["Ġ t", "Ġt h", "Ġth e"])
        #expect(chained.encode(" the") == [try #require(chained.id(of: "Ġthe"))])
        #expect(chained.decode(chained.encode(" the the")) == " the the")
    }

    @Test("A byte without a token is dropped, and its neighbours can then merge")
    func missingBytes() throws {
        let tokenizer = try tinyTokenizer(merges: ["! !"], missingBytes: [0x04])
        let a = try #require(tokenizer.id(of: "a")), b = try #require(tokenizer.id(of: "b"))
        #expect(tokenizer.encode("a\u{4}b") == [a, b])
        #expect(tokenizer.encode("!\u{4}!") == [try #require(tokenizer.id(of: "!!"))])
        #expect(tokenizer.encode("\u{4}") == [])
    }

    @Test("Control and user-defined tokens are matched whole, longest first; normal tokens are not")
    func addedTokens() throws {
        let tokenizer = try tinyTokenizer(merges: [], extra: ["<x>", "<xy>", "<u>", "<n>"],
                                          tokenTypes: [3, 3, 4, 1])
        let x = try #require(tokenizer.id(of: "<x>")), xy = try #require(tokenizer.id(of: "<xy>"))
        let u = try #require(tokenizer.id(of: "<u>"))
        let lt = try #require(tokenizer.id(of: "<")), gt = try #require(tokenizer.id(of: ">"))
        let n = try #require(tokenizer.id(of: "n"))
        #expect(tokenizer.encode("<x><xy><u>") == [x, xy, u])
        #expect(tokenizer.encode("<n>") == [lt, n, gt])
        // Control tokens show as written; user-defined ones decode like any other.
        #expect(tokenizer.tokenText(x) == "<x>")
        #expect(tokenizer.decode([x, u]) == "<x><u>")
    }

    @Test("Unusable vocabularies are errors that say what is wrong")
    func invalidVocabularies() {
        let bytes = (0..<256).map { String(ByteEncoder.characters[$0]) }
        func make(tokens: [String] = bytes, merges: [String] = [], types: [Int]? = nil,
                  bos: Int? = nil, pre: String = "smollm") -> () throws -> Void {
            { _ = try BPETokenizer(tokens: tokens, merges: merges, tokenTypes: types,
                                   bosId: bos, eosId: nil, preTokenizer: pre) }
        }
        #expect(vocabularyProblem(make()) == nil)
        #expect(vocabularyProblem(make(tokens: [])) == "it has no tokens")
        #expect(vocabularyProblem(make(merges: ["a zz"]))?.contains("names \"zz\", which is not a token") == true)
        #expect(vocabularyProblem(make(merges: ["a b"]))?.contains("makes \"ab\", which is not a token") == true)
        #expect(vocabularyProblem(make(merges: ["ab"]))?.contains("is not two tokens") == true)
        #expect(vocabularyProblem(make(merges: ["a b c"]))?.contains("is not two tokens") == true)
        #expect(vocabularyProblem(make(pre: "llama3"))?.contains("\"llama3\" is not one attn knows") == true)
        #expect(vocabularyProblem(make(types: [1, 1]))?.contains("2 token types for 256 tokens") == true)
        #expect(vocabularyProblem(make(bos: 256))?.contains("BOS token id 256") == true)

        let error = AttnError.vocabularyInvalid(path: "model.gguf", reason: "it has no tokens")
        #expect(error.description == "model.gguf is not a usable vocabulary: it has no tokens")
    }

    @Test("The tokenizer of the GGUF file is the one its arrays make")
    func fromGGUF() throws {
        let tokenizer = try SmolLM2Tokenizer.require()
        let metadata = try SmolLM2Tokenizer.file.get().metadata
        #expect(metadata["tokenizer.ggml.pre"]?.string == "smollm")
        #expect(tokenizer.preTokenizer == .smollm)
        #expect(tokenizer.vocabulary.count == 49152)
        #expect(tokenizer.vocabulary == metadata["tokenizer.ggml.tokens"]?.strings)
    }
}
