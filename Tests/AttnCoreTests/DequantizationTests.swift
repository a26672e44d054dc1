import Foundation
import Testing
@testable import AttnCore

// Every block type attn dequantizes, against the Python `gguf` package: blocks of random bytes, of
// random bytes with the scales real files have, and of rows gguf-py quantized itself
// (Tests/Reference/gguf_quants.py wrote them and its results into Fixtures/gguf-quants.json).
// Each goes through a GGUF file that the test writes, and every element must have the same bits.

/// Blocks and what `gguf.quants.dequantize` made of them.
struct QuantFixture: Decodable {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        /// ggml's name for the type: `"Q4_K"`.
        let type: String
        /// `"random"`, `"typical"` or `"quantized"` (see the script).
        let source: String
        let blocks: Int
        let elements: Int
        /// The blocks' bytes in hex.
        let bytes: String
        /// Each float32 result as 8 hex digits of its bit pattern.
        let values: String

        var testDescription: String { "\(type) \(source)" }
        var ggmlType: GGMLType? { GGMLType.allCases.first { $0.name == type } }
        var data: [UInt8] { hexChunks(bytes, 2).map { UInt8($0, radix: 16) ?? 0 } }
        var expected: [UInt32] { hexChunks(values, 8).map { UInt32($0, radix: 16) ?? 0 } }
    }
    let gguf: String
    let cases: [Case]

    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gguf-quants.json")

    static func load() throws -> QuantFixture {
        try JSONDecoder().decode(QuantFixture.self, from: Data(contentsOf: url))
    }

    /// The cases, for parameterized tests; `fixtureCovers` fails if there are none.
    static let cases: [Case] = (try? load().cases) ?? []
}

/// `text` in pieces of `size` characters (hex digits).
private func hexChunks(_ text: String, _ size: Int) -> [Substring] {
    var chunks: [Substring] = []
    var start = text.startIndex
    while start < text.endIndex {
        let end = text.index(start, offsetBy: size, limitedBy: text.endIndex) ?? text.endIndex
        chunks.append(text[start..<end])
        start = end
    }
    return chunks
}

/// How many elements differ in their bits, and the first that does.
private func differences(_ mine: [Float], _ theirs: [UInt32]) -> (count: Int, first: String?) {
    let differing = zip(mine.indices, zip(mine, theirs)).filter { $0.1.0.bitPattern != $0.1.1 }
    let first = differing.first.map { i, pair in
        "element \(i): \(pair.0) (\(String(pair.0.bitPattern, radix: 16))) ≠ \(Float(bitPattern: pair.1)) (\(String(pair.1, radix: 16)))"
    }
    return (differing.count, first)
}

@Suite("Dequantization: every readable block type against gguf-py")
struct DequantizationTests {
    @Test("The fixture holds random and typical blocks of every readable block type, and quantized rows where gguf-py quantizes")
    func fixtureCovers() throws {
        let fixture = try QuantFixture.load()
        #expect(fixture.gguf == "0.19.0")
        #expect(fixture.cases.count == 27)
        let blockTypes = GGMLType.allCases.filter { $0.isReadable && $0 != .f32 && $0 != .f16 }
        for type in blockTypes {
            let sources = fixture.cases.filter { $0.type == type.name }.map(\.source)
            let quantized = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .bf16].contains(type)
            #expect(sources == ["random"] + (type == .bf16 ? [] : ["typical"]) + (quantized ? ["quantized"] : []), "\(type.name)")
        }
        for reference in fixture.cases {
            let type = try #require(reference.ggmlType, "\(reference.type)")
            #expect(reference.data.count == reference.blocks * type.bytesPerBlock, "\(reference.testDescription)")
            #expect(reference.expected.count == reference.elements && reference.elements == reference.blocks * type.blockSize,
                    "\(reference.testDescription)")
        }
        // 8 blocks of each kind for the block types, 64 BF16 elements; 2 rows of 256 quantized.
        #expect(fixture.cases.map(\.elements).reduce(0, +) == 26176)
    }

    @Test("Every element equals gguf-py's, bit for bit", arguments: QuantFixture.cases)
    func parity(_ reference: QuantFixture.Case) throws {
        let type = try #require(reference.ggmlType)
        let file = try open(ggufFile(tensors: [
            TestTensor(name: "t", dimensions: [UInt64(reference.elements)], type: type.rawValue, data: reference.data),
        ]))
        let mine = try file.floats("t")
        #expect(mine.count == reference.elements)
        let (count, first) = differences(mine, reference.expected)
        #expect(count == 0, "\(count) of \(reference.elements) differ; \(first ?? "")")
    }

    @Test("One file with a tensor of each type reads back through matrix, two rows each")
    func oneFileEveryType() throws {
        let random = QuantFixture.cases.filter { $0.source == "random" }
        #expect(random.count == 11)
        // In file order the byte sizes (say Q3_K's 880) leave gaps before the next aligned offset.
        let tensors = try random.map { reference in
            let type = try #require(reference.ggmlType)
            return TestTensor(name: reference.type, dimensions: [UInt64(reference.elements / 2), 2],
                              type: type.rawValue, data: reference.data)
        }
        let file = try open(ggufFile(tensors: tensors))
        for reference in random {
            let matrix = try file.matrix(reference.type)
            #expect(matrix.rows == 2 && matrix.columns == reference.elements / 2)
            #expect(file.tensors[reference.type]?.byteRange.count == reference.data.count)
            let (count, first) = differences(matrix.row(0) + matrix.row(1), reference.expected)
            #expect(count == 0, "\(reference.type): \(count) differ; \(first ?? "")")
        }
    }

    @Test("A tensor of many blocks is dequantized the same on every core", arguments: QuantFixture.cases.filter { $0.source == "random" })
    func parallel(_ reference: QuantFixture.Case) throws {
        let type = try #require(reference.ggmlType)
        // At least three runs of about 64K elements each.
        let copies = 3 * (1 << 16) / reference.elements + 1
        let file = try open(ggufFile(tensors: [
            TestTensor(name: "t", dimensions: [UInt64(reference.elements), UInt64(copies)], type: type.rawValue,
                       data: Array([[UInt8]](repeating: reference.data, count: copies).joined())),
        ]))
        let mine = try file.floats("t")
        #expect(mine.count == copies * reference.elements)
        let expected = Array([[UInt32]](repeating: reference.expected, count: copies).joined())
        let (count, first) = differences(mine, expected)
        #expect(count == 0, "\(count) differ; \(first ?? "")")
    }

    @Test("Q4_K's groups 4…7 take the top two bits of their scale and minimum from bytes 0…7, worked out by hand")
    func q4_kScalePacking() throws {
        // d = 1, dmin = 0.5; every quant 1 (low and high nibble). Group 5: scale 0b11_0101 = 53
        // (low 4 bits 0101 in byte 9's low nibble, top bits 11 in bits 6–7 of byte 1) and minimum
        // 0b10_0110 = 38 (0110 in byte 9's high nibble, 10 in bits 6–7 of byte 5). Group 1 keeps
        // the low 6 bits of bytes 1 and 5: scale 2, minimum 3.
        var scales = [UInt8](repeating: 0, count: 12)
        scales[1] = 0b11_000010
        scales[5] = 0b10_000011
        scales[9] = 0b0110_0101
        let block = [0x00, 0x3C, 0x00, 0x38] + scales + [UInt8](repeating: 0x11, count: 128)
        let values = try open(ggufFile(tensors: [TestTensor(name: "t", dimensions: [256], type: 12, data: block)])).floats("t")
        // x = d·scale·q − dmin·min: group 1 is 2 − 1.5, group 5 is 53 − 19, the others 0 − 0.
        #expect(Array(values[32..<64]) == [Float](repeating: 0.5, count: 32))
        #expect(Array(values[160..<192]) == [Float](repeating: 34, count: 32))
        #expect(values.enumerated().allSatisfy { i, x in (32..<64).contains(i) || (160..<192).contains(i) || x == 0 })
    }

    @Test("Q3_K's high bit subtracts 4 when it is clear; Q6_K is centred on 32, worked out by hand")
    func highBits() throws {
        // Q3_K: d = 1, every scale 32 + 1 (low nibbles 1, high bits 10 → 0b10_0001 = 33), every
        // 2-bit quant 3; hmask bit set for element e only when e % 32 == 0 (byte 0 all ones).
        let q3Scales = [UInt8](repeating: 0x11, count: 8) + [UInt8](repeating: 0b10_10_10_10, count: 4)
        let q3 = [0xFF] + [UInt8](repeating: 0, count: 31) + [UInt8](repeating: 0xFF, count: 64) + q3Scales + [0x00, 0x3C]
        // Q6_K: d = 0.5, every scale −2, low nibbles 15 and high bits 01 (q = 31 − 32 = −1) in the
        // first half of the block, 0 and 10 (q = 32 − 32 = 0) in the second.
        let q6 = [UInt8](repeating: 0xFF, count: 64) + [UInt8](repeating: 0x00, count: 64)
            + [UInt8](repeating: 0b01_01_01_01, count: 32) + [UInt8](repeating: 0b10_10_10_10, count: 32)
            + [UInt8](repeating: 0xFE, count: 16) + [0x00, 0x38]
        let file = try open(ggufFile(tensors: [
            TestTensor(name: "q3", dimensions: [256], type: 11, data: q3),
            TestTensor(name: "q6", dimensions: [256], type: 14, data: q6),
        ]))
        let x3 = try file.floats("q3")
        #expect(x3.enumerated().allSatisfy { e, x in x == (e % 32 == 0 ? 3 : -1) })
        let x6 = try file.floats("q6")
        #expect(x6[..<128].allSatisfy { $0 == 1 } && x6[128...].allSatisfy { $0 == 0 })
    }

    @Test("BF16 is the top half of a float32, NaN payloads and −0 kept")
    func bf16() throws {
        let patterns: [UInt16] = [0x3F80, 0xBF80, 0x8000, 0x7F80, 0x7FC1, 0x0001, 0x4049]
        let file = try open(ggufFile(tensors: [
            TestTensor(name: "t", dimensions: [UInt64(patterns.count)], type: 30,
                       data: patterns.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }),
        ]))
        #expect(bits(try file.floats("t")) == patterns.map { UInt32($0) << 16 })
    }
}

@Suite("fp16 scales read by moving bits")
struct HalfPrecisionTests {
    @Test("every one of the 65536 fp16 bit patterns gives the float Float16's own conversion gives")
    func everyPattern() {
        var differing: [UInt16] = []
        for bits in 0...UInt16.max {
            let ours = Dequantization.half(bits: bits), theirs = Float(Float16(bitPattern: bits))
            if theirs.isNaN ? !ours.isNaN : ours.bitPattern != theirs.bitPattern { differing.append(bits) }
        }
        #expect(differing.isEmpty, "\(differing.prefix(5).map { String($0, radix: 16) })")
        #expect(Dequantization.half(bits: 0x0001) == 0x1p-24 && Dequantization.half(bits: 0x8000).sign == .minus)
        #expect(Dequantization.half(bits: 0x7c00) == .infinity && Dequantization.half(bits: 0x3c00) == 1)
    }
}
