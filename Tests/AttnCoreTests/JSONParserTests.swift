import Foundation
import Synchronization
import Testing
@testable import AttnCore

/// attn's own JSON reader (`JSONParser`), which reads every tokenizer.json: against Foundation's
/// `JSONSerialization` on real files, and on what JSON allows and refuses.
@Suite("JSONParser: tokenizer.json read byte by byte")
struct JSONParserTests {

    static func parse(_ text: String) throws(JSONParser.Failure) -> JSONNode {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParser.Failure) in try JSONParser.parse(buffer) }
    }

    static func parse(bytes: [UInt8]) -> JSONNode? {
        bytes.withUnsafeBufferPointer { try? JSONParser.parse($0) }
    }

    /// Whether attn's value is Foundation's: the same members, elements, strings byte for byte,
    /// whole numbers as whole numbers and booleans as booleans.
    static func same(_ node: JSONNode, _ other: Any) -> Bool {
        switch node {
        case .null: return other is NSNull
        case .string(let string): return (other as? String).map { string.utf8.elementsEqual($0.utf8) } ?? false
        case .array(let elements):
            guard let others = other as? [Any], others.count == elements.count else { return false }
            return zip(elements, others).allSatisfy { same($0, $1) }
        case .object(let members):
            guard let others = other as? [String: Any], others.count == members.count else { return false }
            return members.allSatisfy { member in others[member.key].map { same(member.value, $0) } ?? false }
        case .bool(let bool):
            guard let number = other as? NSNumber else { return false }
            return String(cString: number.objCType) == "c" && number.boolValue == bool
        case .integer(let integer):
            guard let number = other as? NSNumber, String(cString: number.objCType) != "c" else { return false }
            return number.int64Value == Int64(integer) && number.doubleValue == Double(integer)
        case .number(let double):
            guard let number = other as? NSNumber, String(cString: number.objCType) != "c" else { return false }
            return number.doubleValue == double
        }
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    /// Every tokenizer.json in the fixtures (GPT-2's BPE, BERT's WordPiece, SentencePiece's
    /// Llama 2 and Gemma), and the real MiniLM's.
    static var tokenizerFiles: [String] {
        let found = (FileManager.default.enumerator(atPath: fixtures)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix("tokenizer.json") }.sorted().map { fixtures + "/" + $0 }
        return found + [ModelStore.directory(for: .minilm) + "/tokenizer.json"]
    }

    @Test("every tokenizer.json attn reads in its tests, and MiniLM's, is what Foundation reads")
    func sameAsFoundation() throws {
        let files = Self.tokenizerFiles
        #expect(files.count >= 8)
        for file in files {
            let data = try #require(FileManager.default.contents(atPath: file), "\(file)")
            let node = try #require(Self.parse(bytes: Array(data)), "\(file)")
            #expect(Self.same(node, try JSONSerialization.jsonObject(with: data)), "\(file)")
        }
        // MiniLM's vocabulary: 30522 whole numbers, in the file's order.
        let minilmData = try #require(FileManager.default.contents(atPath: files.last!))
        let minilm = try #require(Self.parse(bytes: Array(minilmData)))
        guard case .object(let root) = minilm, case .object(let model)? = root.first(where: { $0.key == "model" })?.value,
              case .object(let vocab)? = model.first(where: { $0.key == "vocab" })?.value else {
            Issue.record("MiniLM's tokenizer.json has no model.vocab object")
            return
        }
        #expect(vocab.count == 30522)
        #expect(vocab.first?.key == "[PAD]")
        #expect(vocab.enumerated().allSatisfy { index, member in
            if case .integer(index) = member.value { true } else { false }
        })
    }

    @Test("numbers: whole numbers apart from fractions, exponents and booleans")
    func numbers() throws {
        func node(_ text: String) -> JSONNode? { try? Self.parse(text) }
        func integer(_ text: String) -> Int? { if case .integer(let i)? = node(text) { i } else { nil } }
        func double(_ text: String) -> Double? { if case .number(let d)? = node(text) { d } else { nil } }
        #expect(integer("0") == 0)
        #expect(integer("30521") == 30521)
        #expect(integer("-7") == -7)
        #expect(integer("-0") == 0)
        #expect(integer("9223372036854775807") == Int.max)
        #expect(integer("-9223372036854775808") == Int.min)
        #expect(double("9223372036854775808") == 9223372036854775808)  // past Int: a number, not an id
        #expect(double("1.0") == 1)
        #expect(double("1e2") == 100)
        #expect(double("-2.5E-3") == -0.0025)
        #expect(double("257.5") == 257.5)
        if case .bool(true)? = node("true") {} else { Issue.record("true is not .bool(true)") }
        if case .null? = node(" null ") {} else { Issue.record("null is not .null") }
        for bad in ["01", "-", "1.", ".5", "1e", "+1", "0x10", "1e400", "NaN", "Infinity", "- 1"] {
            #expect(node(bad) == nil, "\(bad)")
        }
    }

    @Test("strings: escapes, surrogate pairs, UTF-8 taken whole, keys kept byte for byte and in order")
    func strings() throws {
        func string(_ text: String) -> String? { if case .string(let s)? = try? Self.parse(text) { s } else { nil } }
        #expect(string(#""a\"b\\c\/d\b\f\n\r\t""#) == "a\"b\\c/d\u{8}\u{C}\n\r\t")
        #expect(string(#""\u0041\u00e9\u4e2d""#) == "Aé中")
        #expect(string(#""\ud83d\ude00""#) == "😀")
        #expect(string(#""Ġthe ##ing 한""#) == "Ġthe ##ing 한")
        #expect(string(#""\u0000""#) == "\u{0}")
        // Two spellings of é (one scalar, and e + combining acute) are two keys, as in tokenizers.
        let node = try Self.parse("{\"\u{E9}\": 1, \"e\u{301}\": 2, \"b\": 3}")
        guard case .object(let members) = node else { Issue.record("not an object"); return }
        #expect(members.map { Array($0.key.utf8) } == [[0xC3, 0xA9], [0x65, 0xCC, 0x81], [0x62]])
        for bad in [#""\ud83d""#, #""\ude00""#, #""\ud83d\u0041""#, #""\x41""#, #""\u12""#, #""abc"#, "\"a\nb\"", "'a'"] {
            #expect(string(bad) == nil, "\(bad)")
        }
        // Bytes that are not UTF-8, inside a string and outside one.
        #expect(Self.parse(bytes: [0x22, 0xC3, 0x28, 0x22]) == nil)
        #expect(Self.parse(bytes: [0x22, 0xED, 0xA0, 0x80, 0x22]) == nil)  // a surrogate written in UTF-8
        #expect(Self.parse(bytes: [0xFF, 0xFE, 0x7B, 0x7D]) == nil)
        // A UTF-8 byte-order mark before the value is skipped.
        if case .object? = Self.parse(bytes: [0xEF, 0xBB, 0xBF, 0x7B, 0x7D]) {} else { Issue.record("a BOM before {} is refused") }
    }

    @Test("structure: what JSON refuses is refused, with where the parser stopped")
    func structure() throws {
        for bad in ["", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "{} {}", "[1]]",
                    "tru", "nul", "{\"a\":1 // comment\n}", "[1,\n", "{\"a\":}"] {
            #expect(throws: JSONParser.Failure.self, "\(bad)") { try Self.parse(bad) }
        }
        do {
            _ = try Self.parse("{\"a\": [1, 2,, 3]}")
            Issue.record("a double comma is accepted")
        } catch {
            #expect(error.offset == 12)
        }
        if case .object(let members) = try Self.parse(" {\"a\" : [ ] , \"b\":{}}\n") {
            #expect(members.count == 2)
        } else {
            Issue.record("not an object")
        }
    }

    @Test("nesting: 512 levels are read, deeper is refused without exhausting the stack")
    func nesting() throws {
        let deepest = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        #expect(throws: Never.self) { try Self.parse(deepest) }
        #expect(throws: JSONParser.Failure.self) { try Self.parse("[" + deepest + "]") }
        // A hostile file: a million opening brackets, in objects and arrays.
        #expect(throws: JSONParser.Failure.self) { try Self.parse(String(repeating: "[", count: 1_000_000)) }
        #expect(throws: JSONParser.Failure.self) { try Self.parse(String(repeating: "{\"a\":", count: 1_000_000)) }
    }

    @Test("the deepest document is read on the second core's thread too, where BERT's tokenizer loads")
    func nestingOnTheSecondCore() throws {
        let levels = JSONParser.maximumDepth - 1
        let deepest = "{\"a\":" + String(repeating: "[", count: levels) + String(repeating: "]", count: levels) + "}"
        let started = Atomic<Bool>(false)
        var onWorker = false, parsedHere = false, parsedThere = false
        let caller = pthread_self()
        inTwoHalves { part in
            if part == 1 {
                started.store(true, ordering: .releasing)
                onWorker = pthread_equal(pthread_self(), caller) == 0
                parsedThere = (try? Self.parse(deepest)) != nil
            } else {
                // Give the worker its half (unless another test holds it: then both run here).
                let deadline = Date().addingTimeInterval(1)
                while !started.load(ordering: .acquiring) && Date() < deadline { sched_yield() }
                parsedHere = (try? Self.parse(deepest)) != nil
            }
        }
        #expect(parsedHere && parsedThere)
        if !onWorker { print("note: the worker was busy; both halves ran on the test's thread") }
    }
}
