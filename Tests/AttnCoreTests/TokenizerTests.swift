import AttnCore
import Foundation
import Testing

// MARK: - Reference data

/// Token ids that Hugging Face `tokenizers` produced for a varied corpus, once, with
/// Tests/Reference/minilm_tokenizer.py.
fileprivate struct TokenizerFixture: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
    }

    /// The `tokenizers` version that made the fixture.
    let tokenizers: String
    let cases: [Case]

    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/minilm-tokenizer.json").path

    static func load() throws -> TokenizerFixture {
        let data = try #require(FileManager.default.contents(atPath: path), "cannot read \(path)")
        return try JSONDecoder().decode(TokenizerFixture.self, from: data)
    }
}

/// The real all-MiniLM-L6-v2 vocabulary, read once.
///
/// `make test` fetches the weights first; without them the tests that need it fail and say so.
fileprivate enum MiniLMVocabulary {
    static let path = ModelStore.directory(for: .minilm) + "/vocab.txt"

    static let loaded: Result<WordPieceTokenizer, any Error> = Result {
        try WordPieceTokenizer(vocabularyFile: path)
    }

    static func require() throws -> WordPieceTokenizer {
        var problem = ""
        if case let .failure(error) = loaded { problem = "\(error)" }
        return try #require(try? loaded.get(), """
            the MiniLM vocabulary is needed (\(problem)): run `make test`, which fetches the weights
            """)
    }
}

/// A small vocabulary for tests that need exact control; ids are indices.
fileprivate func tinyTokenizer(_ tokens: [String]) -> WordPieceTokenizer {
    WordPieceTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + tokens)
}

/// A fresh directory under the system's temporary directory.
fileprivate func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("attn-tokenizer-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The code points of each string: what `tokenizers` compares, unlike Swift's `==`.
fileprivate func codePoints(_ strings: [String]) -> [[UInt32]] {
    strings.map { $0.unicodeScalars.map(\.value) }
}

// MARK: - Parity with Hugging Face

@Suite("Tokenizer parity with Hugging Face")
struct TokenizerParityTests {
    @Test("Every corpus text encodes to the ids Hugging Face tokenizers produced")
    func corpusMatchesPython() throws {
        let tokenizer = try MiniLMVocabulary.require()
        let fixture = try TokenizerFixture.load()
        #expect(fixture.cases.count >= 320, "the fixture should hold the whole corpus")

        // No limit here: one corpus text is longer than BERT's 512 positions on purpose.
        try expectCorpusParity(fixture.cases.map { ($0.text, $0.ids) }, tokenizers: fixture.tokenizers,
                               encode: { try tokenizer.encode($0, limit: .max) }, tokens: tokenizer.tokens)
    }

    @Test("Special tokens written in the text stand for themselves, case-sensitively")
    func specialTokensInText() throws {
        let tokenizer = try MiniLMVocabulary.require()
        #expect(try tokenizer.encode("hello [MASK] world") == [101, 7592, 103, 2088, 102])
        // Lowercase is ordinary text: "[", "mask", "]".
        #expect(try tokenizer.encode("[mask]") == [101, 1031, 7308, 1033, 102])
    }

    @Test("The special ids come from the vocabulary")
    func specialIds() throws {
        let tokenizer = try MiniLMVocabulary.require()
        #expect(tokenizer.vocabulary.count == 30522)
        #expect(tokenizer.padId == 0)
        #expect(tokenizer.unkId == 100)
        #expect(tokenizer.clsId == 101)
        #expect(tokenizer.sepId == 102)
        #expect(tokenizer.id(of: "##ing") == 2075)
        #expect(tokenizer.id(of: "no such token") == nil)
    }

    @Test("A real word splits into ## continuation pieces")
    func realWordPieces() throws {
        let tokenizer = try MiniLMVocabulary.require()
        #expect(tokenizer.wordPieces("embeddings") == ["em", "##bed", "##ding", "##s"])
        #expect(tokenizer.tokens(try tokenizer.encode("Tokenizing is fun!"))
                == ["[CLS]", "token", "##izing", "is", "fun", "!", "[SEP]"])
    }
}

// MARK: - The basic tokenizer

@Suite("BasicTokenizer")
struct BasicTokenizerTests {
    let basic = BasicTokenizer()

    @Test("Accents are stripped, whether the text is precomposed or decomposed")
    func accentStripping() {
        #expect(basic.split("Crème BRÛLÉE") == ["creme", "brulee"])
        #expect(basic.split("Cre\u{0300}me") == ["creme"])
        // İ decomposes to I + U+0307; the dot goes before lowercasing.
        #expect(basic.split("İstanbul") == ["istanbul"])
        // Spacing marks (Devanagari vowel signs I and II, Mc) stay; the virama (Mn) goes.
        #expect(codePoints(basic.split("हिन्दी")) == [[0x939, 0x93F, 0x928, 0x926, 0x940]])
    }

    @Test("Each CJK ideograph is a word; kana and Hangul are not split")
    func cjkSplitting() {
        #expect(basic.split("中文abc日本") == ["中", "文", "abc", "日", "本"])
        // Kana stay one word, but lose their voicing marks: NFD makes "が" into "か" + U+3099,
        // a nonspacing mark, so "ひらがな" reads as "ひらかな".
        #expect(basic.split("ひらがな") == ["ひらかな"])
        // Hangul decomposes into its letters (NFD) but stays one word.
        // (Compared as code points: Swift's == would call "한국" equal to its decomposition.)
        #expect(codePoints(basic.split("한국")) == [[0x1112, 0x1161, 0x11AB, 0x1100, 0x116E, 0x11A8]])
        // Extension E starts at U+2B920 in tokenizers, not at U+2B820 as in Google's BERT.
        #expect(basic.split("a\u{2B820}b") == ["a\u{2B820}b"])
        #expect(basic.split("a\u{2B920}b") == ["a", "\u{2B920}", "b"])
    }

    @Test("Punctuation is split off, including ASCII symbols; other symbols are not")
    func punctuation() {
        #expect(basic.split("Don't panic!") == ["don", "'", "t", "panic", "!"])
        #expect(basic.split("x$y+z") == ["x", "$", "y", "+", "z"])
        #expect(basic.split("a—b") == ["a", "—", "b"])
        #expect(basic.split("a€b") == ["a€b"])
        #expect(basic.split("...") == [".", ".", "."])
    }

    @Test("Whitespace separates, control characters vanish, even those Unicode calls whitespace")
    func whitespaceAndControl() {
        #expect(basic.split("a\tb\r\nc\u{00A0}d\u{3000}e") == ["a", "b", "c", "d", "e"])
        #expect(basic.split("a\u{200B}b") == ["ab"])  // zero-width space: a format character
        #expect(basic.split("a\u{0B}b") == ["ab"])    // vertical tab: a control character
        #expect(basic.split("a\u{0}b\u{FFFD}c") == ["abc"])
        #expect(basic.split("") == [])
        #expect(basic.split(" \t\n ") == [])
    }

    @Test("Lowercasing is per code point: a final capital sigma becomes σ")
    func lowercasing() {
        #expect(basic.split("ΟΔΟΣ") == ["οδοσ"])
        #expect(basic.split("ẞ") == ["ß"])
    }

    @Test("Code points newer than tokenizers' Unicode tables are ordinary letters")
    func unicodeVersions() {
        // U+08D4 is a nonspacing mark since Unicode 9.0; tokenizers' tables (8.0) do not know it.
        #expect(basic.split("a\u{08D4}b") == ["a\u{08D4}b"])
        // U+2E5D is punctuation since Unicode 14.0: not split off.
        #expect(basic.split("a\u{2E5D}b") == ["a\u{2E5D}b"])
        // U+166D was punctuation in Unicode 8.0 (a symbol now): split off.
        #expect(basic.split("a\u{166D}b") == ["a", "\u{166D}", "b"])
    }

    @Test("Each step can be left out, as BertNormalizer's options leave it out")
    func normalizationOptions() {
        let text = "Crème\tBRÛLÉE 中文\u{200B}!"
        func split(_ normalization: BertNormalization) -> [[UInt32]] {
            codePoints(BasicTokenizer(normalization: normalization).split(text))
        }
        #expect(split(BertNormalization()) == codePoints(["creme", "brulee", "中", "文", "!"]))
        // Cased: strip_accents null follows lowercase false.
        #expect(split(BertNormalization(lowercase: false)) == codePoints(["Crème", "BRÛLÉE", "中", "文", "!"]))
        // Accents stripped, case kept: the decomposed letters lose their marks.
        #expect(split(BertNormalization(stripAccents: true, lowercase: false)) == codePoints(["Creme", "BRULEE", "中", "文", "!"]))
        #expect(split(BertNormalization(stripAccents: false)) == codePoints(["crème", "brûlée", "中", "文", "!"]))
        // Without CJK spacing the ideographs stay in their word; without cleaning the zero-width
        // space U+200B stays too (it is not whitespace).
        #expect(split(BertNormalization(cleanText: false, chineseCharacters: false))
                == codePoints(["creme", "brulee", "中文\u{200B}", "!"]))
        #expect(split(.none) == codePoints(["Crème", "BRÛLÉE", "中文\u{200B}", "!"]))
        #expect(BasicTokenizer().normalization == BertNormalization(cleanText: true, chineseCharacters: true,
                                                                      stripAccents: true, lowercase: true))
    }
}

// MARK: - WordPiece

@Suite("WordPieceTokenizer")
struct WordPieceTokenizerTests {
    @Test("Greedy longest match first, with ## continuations")
    func continuation() throws {
        let tokenizer = tinyTokenizer(["un", "una", "##aff", "##able", "##ffa", "##ble", "##a"])
        // "una" is tried before "un", and wins; the rest must then continue from "ffable".
        #expect(tokenizer.wordPieces("unaffable") == ["una", "##ffa", "##ble"])
        let withoutUna = tinyTokenizer(["un", "##aff", "##able"])
        #expect(withoutUna.wordPieces("unaffable") == ["un", "##aff", "##able"])
        #expect(try withoutUna.encode("unaffable") == [2, 4, 5, 6, 3])
    }

    @Test("A word the vocabulary cannot spell is a single [UNK]")
    func unspellable() {
        let tokenizer = tinyTokenizer(["un", "##aff"])
        #expect(tokenizer.wordPieces("unaffable") == ["[UNK]"])
        #expect(tokenizer.wordPieces("zzz") == ["[UNK]"])
    }

    @Test("More than 100 code points is [UNK]; 100 is still split")
    func longWords() {
        let tokenizer = tinyTokenizer(["a", "##a"])
        let hundred = String(repeating: "a", count: 100)
        #expect(tokenizer.wordPieces(hundred) == ["a"] + Array(repeating: "##a", count: 99))
        #expect(tokenizer.wordPieces(hundred + "a") == ["[UNK]"])

        // Code points, not Characters: 51 "é" typed as e + U+0301 are 102 code points.
        let decomposed = tinyTokenizer(["e", "##e", "##\u{0301}"])
        #expect(decomposed.wordPieces(String(repeating: "e\u{0301}", count: 51)) == ["[UNK]"])
        #expect(decomposed.wordPieces(String(repeating: "e\u{0301}", count: 50)).count == 100)
    }

    @Test("Tokens are compared byte for byte, not by Swift's canonical equivalence")
    func byteExactLookup() {
        let tokenizer = tinyTokenizer(["한", "ᄒ", "##ᅡ", "##ᆫ"])
        let decomposed = "\u{1112}\u{1161}\u{11AB}"  // == "한" as a Swift String
        #expect(tokenizer.id(of: decomposed) == nil)
        #expect(tokenizer.id(of: "한") == 4)
        #expect(tokenizer.wordPieces(decomposed) == ["ᄒ", "##ᅡ", "##ᆫ"])
    }

    @Test("513 tokens throw sequenceTooLong; 512 fit")
    func sequenceTooLong() throws {
        let tokenizer = tinyTokenizer(["a"])
        let fits = String(repeating: "a ", count: 510)        // 510 + [CLS] + [SEP] = 512
        #expect(try tokenizer.encode(fits).count == 512)
        let tooLong = String(repeating: "a ", count: 511)     // 513
        #expect(throws: AttnError.sequenceTooLong(tokens: 513, limit: 512, context: 512)) {
            try tokenizer.encode(tooLong)
        }
        #expect(throws: AttnError.sequenceTooLong(tokens: 5, limit: 4, context: 4)) {
            try tokenizer.encode("a a a", limit: 4)
        }
    }

    @Test("Empty text is [CLS] [SEP]; unknown ids read as [UNK]")
    func edges() throws {
        let tokenizer = tinyTokenizer(["a"])
        #expect(try tokenizer.encode("") == [2, 3])
        #expect(try tokenizer.encode(" \u{200B} ") == [2, 3])
        #expect(tokenizer.tokens([4, -1, 99]) == ["a", "[UNK]", "[UNK]"])
    }
}

// MARK: - Vocabulary files

@Suite("Tokenizer vocabulary files")
struct TokenizerVocabularyFileTests {
    /// Writes `bytes` to a temporary vocab.txt and tries to load it.
    func load(_ bytes: [UInt8]) throws
        -> (path: String, result: Result<WordPieceTokenizer, any Error>)
    {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("vocab.txt").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return (path, Result { try WordPieceTokenizer(vocabularyFile: path) })
    }

    func reason(_ result: Result<WordPieceTokenizer, any Error>, path: String) -> String? {
        guard case let .failure(error) = result,
              case let .vocabularyInvalid(errorPath, reason) = error as? AttnError,
              errorPath == path else { return nil }
        return reason
    }

    @Test("One token per line, ids from 0; CRLF and a final newline are handled")
    func reads() throws {
        let (_, result) = try load(Array("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n".utf8))
        let tokenizer = try result.get()
        #expect(tokenizer.vocabulary == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello"])
        #expect(tokenizer.id(of: "hello") == 4)
        #expect(try tokenizer.encode("Hello") == [2, 4, 3])
    }

    @Test("An empty file is an invalid vocabulary")
    func empty() throws {
        let (path, result) = try load([])
        #expect(reason(result, path: path) == "the file is empty")
    }

    @Test("A vocabulary without [SEP] is invalid, and the reason names it")
    func missingSpecialToken() throws {
        let (path, result) = try load(Array("[PAD]\n[UNK]\n[CLS]\nhello\n".utf8))
        #expect(reason(result, path: path) == "it has no [SEP] token")
        #expect(AttnError.vocabularyInvalid(path: path, reason: "it has no [SEP] token").description
                .contains(path))
    }

    @Test("A file that is not UTF-8 is an invalid vocabulary")
    func notUTF8() throws {
        let (path, result) = try load([0x5B, 0x50, 0x41, 0x44, 0x5D, 0x0A, 0xFF, 0xFE, 0x0A])
        #expect(reason(result, path: path) == "it is not UTF-8 text")
    }

    @Test("A missing file is unreadable, and the error names it")
    func missingFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("absent.txt").path
        #expect {
            try WordPieceTokenizer(vocabularyFile: path)
        } throws: { error in
            guard case let .fileUnreadable(errorPath, _) = error as? AttnError else { return false }
            return errorPath == path
        }
    }
}
