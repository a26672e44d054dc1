import Foundation
import Testing
import AttnCore

// Tiny GGUF files that the tests write themselves, one edge case each: every bad file must be
// refused with the error that names its problem, every good one must read back exactly the
// metadata that was written and exactly the numbers ggml's dequantization formulas give. Then the
// real SmolLM2 file, and a parity check against the Python `gguf` package.

// MARK: - Writing test files

/// A GGUF file as bytes, written field by field, little-endian.
private struct Bytes {
    var bytes: [UInt8] = []

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func u32(_ value: UInt32) { integer(value) }
    mutating func u64(_ value: UInt64) { integer(value) }
    mutating func string(_ text: String) {
        u64(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    /// The 24-byte header.
    mutating func header(version: UInt32 = 3, tensors: UInt64, metadata: UInt64) {
        bytes.append(contentsOf: Array("GGUF".utf8))
        u32(version)
        u64(tensors)
        u64(metadata)
    }

    /// A value's payload (its type id is written by the caller).
    mutating func value(_ value: GGUFValue) {
        switch value {
        case let .uint8(v): integer(v)
        case let .int8(v): integer(v)
        case let .uint16(v): integer(v)
        case let .int16(v): integer(v)
        case let .uint32(v): integer(v)
        case let .int32(v): integer(v)
        case let .float32(v): integer(v.bitPattern)
        case let .bool(v): bytes.append(v ? 1 : 0)
        case let .string(v): string(v)
        case let .array(items):
            u32(items.first.map(typeID) ?? 0)
            u64(UInt64(items.count))
            for item in items { self.value(item) }
        case let .uint64(v): integer(v)
        case let .int64(v): integer(v)
        case let .float64(v): integer(v.bitPattern)
        }
    }

    /// One metadata entry: key, type, value.
    mutating func entry(_ key: String, _ value: GGUFValue) {
        string(key)
        u32(typeID(value))
        self.value(value)
    }
}

/// GGUF's id for a value's type.
private func typeID(_ value: GGUFValue) -> UInt32 {
    switch value {
    case .uint8: 0
    case .int8: 1
    case .uint16: 2
    case .int16: 3
    case .uint32: 4
    case .int32: 5
    case .float32: 6
    case .bool: 7
    case .string: 8
    case .array: 9
    case .uint64: 10
    case .int64: 11
    case .float64: 12
    }
}

/// One tensor to write: its info and its raw bytes. `offset` nil places it at the next aligned spot.
struct TestTensor {
    var name: String
    var dimensions: [UInt64]
    var type: UInt32
    var data: [UInt8]
    var offset: UInt64? = nil
}

/// A well-formed GGUF file (unless the arguments say otherwise): header, metadata, tensor infos,
/// padding, then each tensor's bytes at its offset. A non-32 alignment is written as `general.alignment`.
func ggufFile(version: UInt32 = 3, metadata: [(String, GGUFValue)] = [], tensors: [TestTensor] = [],
                      alignment: Int = 32) -> [UInt8] {
    var entries = metadata
    if alignment != 32 { entries.insert(("general.alignment", .uint32(UInt32(alignment))), at: 0) }

    // Offsets: each tensor at the next multiple of the alignment after the previous one.
    var offsets: [UInt64] = []
    var next = 0
    for tensor in tensors {
        let offset = tensor.offset ?? UInt64(next)
        offsets.append(offset)
        next = (Int(offset) + tensor.data.count + alignment - 1) / alignment * alignment
    }

    var out = Bytes()
    out.header(version: version, tensors: UInt64(tensors.count), metadata: UInt64(entries.count))
    for (key, value) in entries { out.entry(key, value) }
    for (tensor, offset) in zip(tensors, offsets) {
        out.string(tensor.name)
        out.u32(UInt32(tensor.dimensions.count))
        for n in tensor.dimensions { out.u64(n) }
        out.u32(tensor.type)
        out.u64(offset)
    }
    out.pad(to: alignment)
    let dataStart = out.bytes.count
    for (tensor, offset) in zip(tensors, offsets) {
        let start = dataStart + Int(offset)
        if out.bytes.count < start { out.bytes += [UInt8](repeating: 0, count: start - out.bytes.count) }
        out.bytes.replaceSubrange(start..<min(out.bytes.count, start + tensor.data.count), with: tensor.data)
    }
    return out.bytes
}

/// Writes `bytes` to a fresh temporary file and returns its path.
func temporaryFile(_ bytes: [UInt8]) throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("attn-gguf-\(UUID().uuidString).gguf").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

/// Opens `bytes` as a GGUF file.
func open(_ bytes: [UInt8]) throws -> GGUFFile {
    let path = try temporaryFile(bytes)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try GGUFFile(path: path)
}

/// The IEEE half-precision bits of `value` (exact for the values the tests use).
private func half(_ value: Float) -> [UInt8] {
    let bits = Float16(value).bitPattern
    return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
}

private func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

/// A Q8_0 block: the fp16 scale, then 32 int8 quants.
private func q8_0Block(d: Float, _ quants: [Int8]) -> [UInt8] {
    precondition(quants.count == 32)
    return half(d) + quants.map { UInt8(bitPattern: $0) }
}

/// A Q4_1 block: fp16 scale, fp16 minimum, then quants 0…15 in the low nibbles and 16…31 in the high.
private func q4_1Block(d: Float, m: Float, _ quants: [UInt8]) -> [UInt8] {
    precondition(quants.count == 32 && quants.allSatisfy { $0 < 16 })
    return half(d) + half(m) + (0..<16).map { quants[$0] | quants[$0 + 16] << 4 }
}

/// Σ values, in a loop without closures (quick even in a debug build).
private func vectorSum(_ values: [Float]) -> Float {
    values.withUnsafeBufferPointer { buffer in
        var sum: Float = 0
        var i = 0
        while i < buffer.count { sum += abs(buffer[i]); i += 1 }
        return sum
    }
}

/// Bits, so that −0 ≠ +0 and the comparison is exact.
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

// MARK: - Metadata

@Suite("GGUF reader")
struct GGUFTests {
    @Test("Every metadata type round-trips, nested arrays included")
    func metadataRoundTrip() throws {
        let values: [(String, GGUFValue)] = [
            ("t.uint8", .uint8(255)),
            ("t.int8", .int8(-128)),
            ("t.uint16", .uint16(65535)),
            ("t.int16", .int16(-32768)),
            ("t.uint32", .uint32(4_000_000_000)),
            ("t.int32", .int32(-2_000_000_000)),
            ("t.float32", .float32(100_000)),
            ("t.float32.inf", .float32(-.infinity)),
            ("t.bool.true", .bool(true)),
            ("t.bool.false", .bool(false)),
            ("t.string", .string("Grüße, 世界 🙂")),
            ("t.string.empty", .string("")),
            ("t.uint64", .uint64(.max)),
            ("t.int64", .int64(.min)),
            ("t.float64", .float64(0.1)),
            ("t.array.strings", .array([.string("a"), .string(""), .string("ü")])),
            ("t.array.ints", .array([.int32(1), .int32(-2), .int32(3)])),
            ("t.array.empty", .array([])),
            ("t.array.nested", .array([.array([.uint8(1), .uint8(2)]), .array([]),
                                       .array([.uint8(3)])])),
            ("t.array.deep", .array([.array([.array([.array([.string("deep")])])])])),
        ]
        let file = try open(ggufFile(metadata: values))
        #expect(file.version == 3)
        #expect(file.metadata.count == values.count)
        for (key, value) in values {
            #expect(file.metadata[key] == value, "\(key)")
        }
        #expect(file.tensors.isEmpty)
        #expect(file.alignment == 32)
    }

    @Test("The accessors read any width and refuse what does not fit")
    func accessors() {
        #expect(GGUFValue.uint32(30).int == 30)
        #expect(GGUFValue.uint8(7).int == 7)
        #expect(GGUFValue.int64(-5).int == -5)
        #expect(GGUFValue.uint64(.max).int == nil)
        #expect(GGUFValue.string("30").int == nil)
        #expect(GGUFValue.bool(true).int == nil)
        #expect(GGUFValue.float32(1.5).float == 1.5)
        #expect(GGUFValue.float64(0.5).float == 0.5)
        #expect(GGUFValue.uint32(9).float == 9)
        #expect(GGUFValue.string("x").float == nil)
        #expect(GGUFValue.string("llama").string == "llama")
        #expect(GGUFValue.uint8(1).string == nil)
        #expect(GGUFValue.array([.string("a"), .string("b")]).strings == ["a", "b"])
        #expect(GGUFValue.array([.string("a"), .uint8(1)]).strings == nil)
        #expect(GGUFValue.array([.int32(-1), .uint64(2)]).ints == [-1, 2])
        #expect(GGUFValue.array([.float32(0.5), .int8(-1)]).floats == [0.5, -1])
        #expect(GGUFValue.array([]).strings == [])
        #expect(GGUFValue.string("a").strings == nil)
    }

    @Test("Version 2 files open like version 3")
    func version2() throws {
        let file = try open(ggufFile(version: 2, metadata: [("general.architecture", .string("llama"))]))
        #expect(file.version == 2)
        #expect(file.metadata["general.architecture"]?.string == "llama")
    }

    // MARK: - Tensors

    @Test("F32 and F16 tensors read back exactly")
    func plainTypes() throws {
        let f32: [Float] = [0, -0.0, 1.5, -2.25, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .infinity, 3.1415927]
        // F16 bit patterns and their values, written out by hand.
        let f16: [(UInt16, Float)] = [
            (0x0000, 0), (0x8000, -0.0), (0x3C00, 1), (0xC000, -2), (0x3555, 0.333251953125),
            (0x7BFF, 65504), (0x0001, 0.000000059604644775390625), (0x7C00, .infinity),
        ]
        let file = try open(ggufFile(tensors: [
            TestTensor(name: "a", dimensions: [8], type: 0, data: float32Bytes(f32)),
            TestTensor(name: "h", dimensions: [4, 2], type: 1,
                       data: f16.flatMap { [UInt8($0.0 & 0xFF), UInt8($0.0 >> 8)] }),
        ]))
        #expect(bits(try file.floats("a")) == bits(f32))
        #expect(bits(try file.floats("h")) == bits(f16.map(\.1)))
        #expect(file.tensors["a"]?.type == .f32)
        #expect(file.tensors["h"]?.type == .f16)
        #expect(file.tensors["h"]?.dimensions == [4, 2])
        #expect(file.tensorNames == ["a", "h"])
        let h = try file.matrix("h")
        #expect(h.rows == 2 && h.columns == 4)
        #expect(h.row(0) == [0, -0.0, 1, -2])
        #expect(h.row(1) == [0.333251953125, 65504, 0.000000059604644775390625, .infinity])
    }

    @Test("Q8_0 dequantizes to d · q, block by block")
    func q8_0() throws {
        // Block 0: d = 0.25, q = −128, −120, … (every 8th value up to 120).
        // Block 1: d = −3, q = 0, 1, −1, 2, −2, …
        let q0: [Int8] = (0..<32).map { Int8(-128 + 8 * $0) }
        let q1: [Int8] = (0..<32).map { (i: Int) -> Int8 in Int8(i % 2 == 1 ? (i + 1) / 2 : -i / 2) }
        let file = try open(ggufFile(tensors: [
            TestTensor(name: "w", dimensions: [32, 2], type: 8, data: q8_0Block(d: 0.25, q0) + q8_0Block(d: -3, q1)),
        ]))
        // Worked out by hand: 0.25 · (−128 + 8i) = −32 + 2i; −3 · q.
        let expected: [Float] = (0..<32).map { Float(-32 + 2 * $0) } + q1.map { -3 * Float($0) }
        #expect(bits(try file.floats("w")) == bits(expected))
        let matrix = try file.matrix("w")
        #expect(matrix.rows == 2 && matrix.columns == 32)
        #expect(matrix.row(0) == Array(expected[0..<32]))
        #expect(file.tensors["w"]?.byteRange.count == 68)
    }

    @Test("Q4_1 dequantizes to d · q + m with low nibbles first")
    func q4_1() throws {
        // Elements 0…15 count up, 16…31 count down, so a mix-up of the nibbles shows.
        let quants: [UInt8] = (0..<16).map { UInt8($0) } + (0..<16).map { UInt8(15 - $0) }
        let file = try open(ggufFile(tensors: [
            TestTensor(name: "w", dimensions: [64], type: 3,
                       data: q4_1Block(d: 0.5, m: -3, quants) + q4_1Block(d: 2, m: 0.125, quants)),
        ]))
        let values = try file.floats("w")
        // By hand: 0.5·q − 3 and 2·q + 0.125.
        let expected: [Float] = quants.map { Float($0) / 2 - 3 } + quants.map { 2 * Float($0) + 0.125 }
        #expect(bits(values) == bits(expected))
        #expect(values[0] == -3 && values[15] == 4.5 && values[16] == 4.5 && values[31] == -3)
    }

    @Test("Q4_1 with scales that are not round numbers matches ggml's formula, rounding included")
    func q4_1Inexact() throws {
        // d and m as fp16 bit patterns: 0x2E66 ≈ 0.0999755859375, 0xB8CD ≈ −0.60009765625.
        let d: Float = 0.0999755859375, m: Float = -0.60009765625
        #expect(Float16(d).bitPattern == 0x2E66 && Float16(m).bitPattern == 0xB8CD)
        let quants: [UInt8] = (0..<32).map { UInt8(($0 * 7) % 16) }
        let file = try open(ggufFile(tensors: [
            TestTensor(name: "w", dimensions: [32], type: 3, data: q4_1Block(d: d, m: m, quants)),
        ]))
        // ggml: y = x·d + m in float, the product rounded to float before the sum. The product of
        // two floats is exact in Double, so rounding it to Float is that one rounding.
        let expected: [Float] = quants.map { q in
            let product = Float(Double(q) * Double(d))
            return product + m
        }
        #expect(bits(try file.floats("w")) == bits(expected))
    }

    @Test("A tensor of many blocks is dequantized the same on every core")
    func largeTensor() throws {
        // 4096 blocks (131072 elements): several runs of the parallel loop.
        let blocks = 4096
        var data: [UInt8] = []
        var expected: [Float] = []
        for b in 0..<blocks {
            let quants = (0..<32).map { UInt8(($0 + b) % 16) }
            let d = Float(b % 8 + 1) / 4, m = Float(b % 5) - 2
            data += q4_1Block(d: d, m: m, quants)
            expected += quants.map { Float($0) * d + m }
        }
        let file = try open(ggufFile(tensors: [
            TestTensor(name: "w", dimensions: [256, UInt64(blocks / 8)], type: 3, data: data),
        ]))
        #expect(bits(try file.floats("w")) == bits(expected))
        let matrix = try file.matrix("w")
        #expect(matrix.rows == 512 && matrix.columns == 256)
    }

    @Test("Alignments other than 32 place the data section and offsets on their multiples", arguments: [8, 64, 256])
    func alignment(_ alignment: Int) throws {
        let a: [Float] = [1, 2, 3]
        let b: [Float] = [4, 5, 6, 7, 8]
        let file = try open(ggufFile(metadata: [("general.name", .string("x"))], tensors: [
            TestTensor(name: "a", dimensions: [3], type: 0, data: float32Bytes(a)),
            TestTensor(name: "b", dimensions: [5], type: 0, data: float32Bytes(b)),
        ], alignment: alignment))
        #expect(file.alignment == alignment)
        #expect(file.dataOffset % alignment == 0)
        #expect(try file.floats("a") == a)
        #expect(try file.floats("b") == b)
        #expect(file.tensors["b"].map { ($0.byteRange.lowerBound - file.dataOffset) % alignment } == 0)
    }

    @Test("Shapes: 1-D is one row, trailing 1s are ignored, a real 3-D tensor is not a matrix")
    func shapes() throws {
        let file = try open(ggufFile(tensors: [
            TestTensor(name: "v", dimensions: [2], type: 0, data: float32Bytes([1, 2])),
            TestTensor(name: "m", dimensions: [2, 1, 1], type: 0, data: float32Bytes([1, 2])),
            TestTensor(name: "cube", dimensions: [2, 2, 2], type: 0, data: float32Bytes([1, 2, 3, 4, 5, 6, 7, 8])),
        ]))
        #expect(try file.matrix("v") == Matrix([[1, 2]]))
        #expect(try file.matrix("m") == Matrix([[1, 2]]))
        #expect(try file.floats("cube").count == 8)
        #expect(throws: AttnError.tensorShape(name: "cube", expected: [-1, -1], found: [2, 2, 2])) {
            try file.matrix("cube")
        }
        #expect(throws: AttnError.tensorMissing(name: "nope", path: file.path)) { try file.floats("nope") }
    }

    @Test("A known type attn cannot dequantize opens, and reading it names the type")
    func unsupportedType() throws {
        // IQ2_XXS: 256 elements in 66 bytes.
        let file = try open(ggufFile(metadata: [("general.architecture", .string("llama"))], tensors: [
            TestTensor(name: "blk.0.ffn_down.weight", dimensions: [256, 1], type: 16, data: [UInt8](repeating: 0, count: 66)),
        ]))
        #expect(file.metadata["general.architecture"]?.string == "llama")
        #expect(file.tensors["blk.0.ffn_down.weight"]?.type == .iq2_xxs)
        let error = AttnError.ggufUnsupportedType(path: file.path, tensor: "blk.0.ffn_down.weight", type: "IQ2_XXS")
        #expect(throws: error) { try file.floats("blk.0.ffn_down.weight") }
        #expect(throws: error) { try file.matrix("blk.0.ffn_down.weight") }
        #expect(error.description.contains("stored as IQ2_XXS, which attn cannot read (it reads F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and BF16)"))
    }

    @Test("Every ggml type id has its ggml name and block layout")
    func typeNames() {
        #expect(GGMLType.allCases.count == 35)
        #expect(GGMLType(rawValue: 13)?.name == "Q5_K")
        #expect(GGMLType(rawValue: 16)?.name == "IQ2_XXS")
        #expect(GGMLType(rawValue: 4) == nil)
        #expect(GGMLType.q4_1.blockSize == 32 && GGMLType.q4_1.bytesPerBlock == 20)
        #expect(GGMLType.q8_0.blockSize == 32 && GGMLType.q8_0.bytesPerBlock == 34)
        #expect(GGMLType.q6_k.blockSize == 256 && GGMLType.q6_k.bytesPerBlock == 210)
        #expect(GGMLType.q3_k.blockSize == 256 && GGMLType.q3_k.bytesPerBlock == 110)
        #expect(GGMLType.allCases.filter(\.isReadable)
                == [.f32, .f16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k, .bf16])
    }
}

// MARK: - Corrupt files

/// One bad file and the words its error must contain.
struct CorruptGGUF: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let reason: String
    var testDescription: String { name }
}

/// A header followed by `body`.
private func withHeader(version: UInt32 = 3, tensors: UInt64 = 0, metadata: UInt64 = 0,
                        _ body: (inout Bytes) -> Void = { _ in }) -> [UInt8] {
    var out = Bytes()
    out.header(version: version, tensors: tensors, metadata: metadata)
    body(&out)
    return out.bytes
}

/// A file with one F32 tensor `t` of `dimensions`, its info written by `info` (after the name).
private func oneTensor(_ info: (inout Bytes) -> Void, data: Int = 64) -> [UInt8] {
    var out = withHeader(tensors: 1) {
        $0.string("t")
        info(&$0)
        $0.pad(to: 32)
    }
    out += [UInt8](repeating: 0, count: data)
    return out
}

private let corruptFiles: [CorruptGGUF] = {
    var cases: [CorruptGGUF] = []
    func add(_ name: String, _ bytes: [UInt8], _ reason: String) {
        cases.append(CorruptGGUF(name: name, bytes: bytes, reason: reason))
    }
    add("empty file", [], "the file is empty")
    add("truncated header", Array(withHeader().prefix(10)), "header is truncated")
    add("not GGUF at all", Array("PK\u{3}\u{4} and then a zip".utf8), "50 4B 03 04, not \"GGUF\"")
    add("ggml's older magic", Array("ggjt".utf8) + [UInt8](repeating: 0, count: 20), "not \"GGUF\"")
    add("version 1", withHeader(version: 1), "GGUF version 1")
    add("version 4", withHeader(version: 4), "GGUF version 4")
    add("big-endian", withHeader(version: 0x0300_0000), "big-endian")
    add("huge metadata count", withHeader(metadata: 1 << 40), "claims 1099511627776 metadata entries")
    add("huge tensor count", withHeader(tensors: 1 << 60), "claims 1152921504606846976 tensors")
    add("huge string length", withHeader(metadata: 1) { $0.u64(1 << 62); $0.bytes += Array("key and then some".utf8) },
        "the key of metadata entry 0 claims 4611686018427387904 bytes")
    add("huge array count", withHeader(metadata: 1) {
        $0.string("tokenizer.ggml.tokens"); $0.u32(9); $0.u32(8); $0.u64(1 << 60); $0.string("a")
    }, "claims an array of 1152921504606846976 string values")
    add("array count just past the end", withHeader(metadata: 1) {
        $0.string("k"); $0.u32(9); $0.u32(4); $0.u64(3); $0.u32(1); $0.u32(2)
    }, "claims an array of 3 uint32 values")
    add("nested-array depth bomb", withHeader(metadata: 1) {
        $0.string("bomb"); $0.u32(9)
        for _ in 0..<10_000 { $0.u32(9); $0.u64(1) }
    }, "nests arrays more than 8 deep")
    add("truncated inside a value", withHeader(metadata: 1) { $0.string("k"); $0.u32(10); $0.u32(7) },
        "ends at byte 41, inside the value of metadata key k")
    add("unknown value type", withHeader(metadata: 1) { $0.string("k"); $0.u32(13); $0.u64(0) },
        "value type 13")
    add("unknown array element type", withHeader(metadata: 1) { $0.string("k"); $0.u32(9); $0.u32(99); $0.u64(0) },
        "array of value type 99")
    add("bool that is neither 0 nor 1", withHeader(metadata: 1) { $0.string("k"); $0.u32(7); $0.bytes.append(2) },
        "bool byte 2")
    add("key that is not UTF-8", withHeader(metadata: 1) { $0.u64(2); $0.bytes += [0xC3, 0x28]; $0.u32(0); $0.bytes.append(0) },
        "the key of metadata entry 0 is not valid UTF-8")
    add("duplicate key", withHeader(metadata: 2) { $0.entry("a.b", .uint8(1)); $0.entry("a.b", .uint8(2)) },
        "metadata key a.b appears twice")
    add("alignment not a power of two", ggufFile(metadata: [("general.alignment", .uint32(48))]),
        "general.alignment is 48")
    add("alignment zero", ggufFile(metadata: [("general.alignment", .uint32(0))]), "general.alignment is 0")
    add("alignment a string", ggufFile(metadata: [("general.alignment", .string("32"))]), "general.alignment is")
    add("n_dims 5", oneTensor { $0.u32(5); for _ in 0..<5 { $0.u64(1) }; $0.u32(0); $0.u64(0) },
        "tensor t has 5 dimensions; GGUF allows at most 4")
    add("dimensions overflow", oneTensor { $0.u32(2); $0.u64(1 << 40); $0.u64(1 << 40); $0.u32(0); $0.u64(0) },
        "too many elements to exist")
    add("dimension beyond Int64", oneTensor { $0.u32(1); $0.u64(.max); $0.u32(0); $0.u64(0) },
        "too many elements to exist")
    add("tensor beyond the end of the file", oneTensor({ $0.u32(1); $0.u64(17); $0.u32(0); $0.u64(0) }, data: 64),
        "tensor t needs 68 bytes at offset 0 of the data section, which has only 64 bytes")
    add("tensor offset beyond the end", oneTensor({ $0.u32(1); $0.u64(1); $0.u32(0); $0.u64(1 << 50) }, data: 64),
        "at offset 1125899906842624")
    add("F32 bytes overflow", oneTensor { $0.u32(1); $0.u64(UInt64(Int.max)); $0.u32(0); $0.u64(0) },
        "needs more bytes than can exist")
    add("misaligned offset", oneTensor({ $0.u32(1); $0.u64(4); $0.u32(0); $0.u64(4) }, data: 64),
        "starts at offset 4 of the data section, which is not a multiple of the alignment 32")
    add("rows not whole blocks", oneTensor({ $0.u32(1); $0.u64(16); $0.u32(3); $0.u64(0) }, data: 64),
        "rows of 16 elements, not a whole number of Q4_1 blocks of 32")
    // 2 rows of 384 Q4_K elements: 768 is 3 super-blocks, but a row is 1½.
    add("rows not whole K-quant blocks", oneTensor({ $0.u32(2); $0.u64(384); $0.u64(2); $0.u32(12); $0.u64(0) }, data: 432),
        "rows of 384 elements, not a whole number of Q4_K blocks of 256")
    add("K-quant tensor cut inside a block", oneTensor({ $0.u32(1); $0.u64(512); $0.u32(14); $0.u64(0) }, data: 300),
        "tensor t needs 420 bytes at offset 0 of the data section, which has only 300 bytes")
    add("duplicate tensor", ggufFile(tensors: [
        TestTensor(name: "w", dimensions: [1], type: 0, data: [0, 0, 0, 0]),
        TestTensor(name: "w", dimensions: [1], type: 0, data: [0, 0, 0, 0]),
    ]), "tensor w appears twice")
    // 49 bytes: header 24, name 9, n_dims 4, the first dimension 8, half of the second.
    add("truncated tensor info", Array(oneTensor { $0.u32(2); $0.u64(4); $0.u64(4); $0.u32(0); $0.u64(0) }.prefix(49)),
        "ends at byte 49, inside dimension 1 of tensor t")
    return cases
}()

@Suite("GGUF corrupt files")
struct GGUFCorruptTests {
    @Test("A corrupt file is refused with an error that names its problem", arguments: corruptFiles)
    func corrupt(_ file: CorruptGGUF) throws {
        let path = try temporaryFile(file.bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let opened = try GGUFFile(path: path)
            Issue.record("\(file.name): opened, with \(opened.tensors.count) tensors")
        } catch let AttnError.ggufInvalid(errorPath, reason) {
            #expect(errorPath == path)
            #expect(reason.contains(file.reason), "\(file.name): \(reason)")
        } catch {
            Issue.record("\(file.name): expected .ggufInvalid, got \(error)")
        }
    }

    @Test("A tensor type id that ggml does not define is refused when the file opens")
    func unknownTypeID() throws {
        let bytes = oneTensor { $0.u32(1); $0.u64(1); $0.u32(99); $0.u64(0) }
        let path = try temporaryFile(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: AttnError.ggufUnsupportedType(path: path, tensor: "t", type: "type id 99")) {
            try GGUFFile(path: path)
        }
    }

    @Test("A missing file or a directory is unreadable, not a crash")
    func unreadable() {
        #expect(throws: AttnError.self) { try GGUFFile(path: "/nonexistent/model.gguf") }
        #expect(throws: AttnError.fileUnreadable(path: "/tmp", reason: "not a regular file")) {
            try GGUFFile(path: "/tmp")
        }
    }
}

// MARK: - The real SmolLM2 file

/// SmolLM2-135M-Instruct quantized to Q4_1, opened once for every test that needs it.
///
/// `make test` fetches it first; without it these tests fail and say how to get it.
enum RealGGUF {
    static let path = ModelStore.root() + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

    static let file: Result<GGUFFile, Error> = Result { try GGUFFile(path: path) }

    static func open() throws -> GGUFFile {
        switch file {
        case let .success(file): return file
        case let .failure(error):
            Issue.record("the SmolLM2 GGUF file is needed at \(path) (run `make test`, which fetches it, or `attn fetch smollm2`): \(error)")
            throw error
        }
    }
}

/// Rows dequantized by the Python `gguf` package (Tests/Reference/smollm2_dequant.py).
private struct DequantFixture: Decodable {
    struct Case: Decodable {
        let tensor: String
        let type: String
        let dimensions: [Int]
        let row: Int
        let values: [Double]
    }
    let gguf: String
    let cases: [Case]

    static func load(_ name: String = "smollm2-dequant.json") throws -> DequantFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/" + name)
        return try JSONDecoder().decode(DequantFixture.self, from: Data(contentsOf: url))
    }
}

@Suite("GGUF: SmolLM2-135M-Instruct Q4_1")
struct GGUFRealFileTests {
    @Test("The metadata describes SmolLM2-135M")
    func metadata() throws {
        let file = try RealGGUF.open()
        #expect(file.version == 3)
        #expect(file.alignment == 32)
        #expect(file.metadata["general.architecture"]?.string == "llama")
        #expect(file.metadata["llama.block_count"]?.int == 30)
        #expect(file.metadata["llama.attention.head_count"]?.int == 9)
        #expect(file.metadata["llama.attention.head_count_kv"]?.int == 3)
        #expect(file.metadata["llama.embedding_length"]?.int == 576)
        #expect(file.metadata["llama.feed_forward_length"]?.int == 1536)
        #expect(file.metadata["llama.rope.dimension_count"]?.int == 64)
        #expect(file.metadata["llama.rope.freq_base"]?.float == 100_000)
        #expect(file.metadata["llama.attention.layer_norm_rms_epsilon"]?.float == 1e-5)
        #expect(file.metadata["tokenizer.ggml.model"]?.string == "gpt2")
        let tokens = try #require(file.metadata["tokenizer.ggml.tokens"]?.strings)
        #expect(tokens.count == 49152)
        #expect(tokens[0] == "<|endoftext|>")
        #expect(file.metadata["tokenizer.ggml.merges"]?.strings?.count == 48900)
        #expect(file.metadata["tokenizer.ggml.token_type"]?.ints?.count == 49152)
    }

    @Test("210 tensors are Q4_1, the embedding Q8_0 and the rest F32")
    func tensorTypes() throws {
        let file = try RealGGUF.open()
        #expect(file.tensors.count == 272)
        let types = Dictionary(grouping: file.tensors.values, by: \.type).mapValues(\.count)
        #expect(types == [.q4_1: 210, .q8_0: 1, .f32: 61])
        #expect(file.tensors["token_embd.weight"]?.type == .q8_0)
        #expect(file.tensors["token_embd.weight"]?.dimensions == [576, 49152])
        #expect(file.tensors["blk.0.attn_k.weight"]?.dimensions == [576, 192])
        #expect(file.tensors["blk.0.ffn_down.weight"]?.dimensions == [1536, 576])
        #expect(file.tensors["output_norm.weight"]?.type == .f32)
        #expect(file.tensors.values.filter { $0.type == .f32 }.allSatisfy { $0.dimensions.count == 1 })
    }

    @Test("The token embedding is a 49152 × 576 matrix")
    func embedding() throws {
        let file = try RealGGUF.open()
        let embedding = try file.matrix("token_embd.weight")
        #expect(embedding.rows == 49152 && embedding.columns == 576)
        #expect(vectorSum(embedding.values).isFinite)
        let query = try file.matrix("blk.0.attn_q.weight")
        #expect(query.rows == 576 && query.columns == 576)
        let key = try file.matrix("blk.0.attn_k.weight")
        #expect(key.rows == 192 && key.columns == 576)
    }

    @Test("Dequantized rows equal the Python gguf package's, bit for bit")
    func parity() throws {
        let file = try RealGGUF.open()
        let fixture = try DequantFixture.load()
        #expect(fixture.cases.count == 12)
        var matrices: [String: Matrix] = [:]
        for reference in fixture.cases {
            let info = try #require(file.tensors[reference.tensor])
            #expect(info.type.name == reference.type)
            #expect(info.dimensions == reference.dimensions)
            if matrices[reference.tensor] == nil { matrices[reference.tensor] = try file.matrix(reference.tensor) }
            let mine = try #require(matrices[reference.tensor]).row(reference.row)
            // Each fixture value is a float32 written exactly (as the double it widens to), so
            // Float(value) is that float32, and equal bits are the only right answer: both sides
            // compute the same float operations (d·q, then + m) in the same order.
            let theirs = reference.values.map { Float($0) }
            #expect(mine.count == theirs.count)
            let differing = zip(mine, theirs).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(reference.tensor) row \(reference.row): \(differing) values differ")
        }
    }

    @Test("Every tensor in the file dequantizes to finite numbers")
    func everyTensor() throws {
        let file = try RealGGUF.open()
        var total = 0
        for name in file.tensorNames {
            let values = try file.floats(name)
            #expect(values.count == file.tensors[name]?.count)
            // The sum is finite only if every value is (a debug build checks it faster than allSatisfy).
            #expect(vectorSum(values).isFinite, "\(name)")
            total += values.count
        }
        #expect(total == 134_515_008)
    }
}

@Suite("GGUF: Gemma 3 270M Q4_K_M")
struct GGUFGemmaFileTests {
    @Test("Rows of its Q8_0, Q5_0, Q4_K, Q6_K and F32 tensors equal the Python gguf package's, bit for bit (the embedding read in place)")
    func parity() throws {
        let file = try GGUFFile(path: ModelStore.directory(for: .gemma3) + "/" + Gemma3.fileName)
        let fixture = try DequantFixture.load("gemma3-dequant.json")
        #expect(fixture.cases.count == 15)
        #expect(Set(fixture.cases.map(\.type)) == ["Q8_0", "Q5_0", "Q4_K", "Q6_K", "F32"])
        let embedding = try #require(try file.quantizedMatrix("token_embd.weight"))
        var matrices: [String: Matrix] = [:]
        for reference in fixture.cases {
            let info = try #require(file.tensors[reference.tensor])
            #expect(info.type.name == reference.type)
            #expect(info.dimensions == reference.dimensions)
            let mine: [Float]
            if reference.tensor == "token_embd.weight" {
                mine = embedding.rows(at: [reference.row]).values
            } else {
                if matrices[reference.tensor] == nil { matrices[reference.tensor] = try file.matrix(reference.tensor) }
                mine = try #require(matrices[reference.tensor]).row(reference.row)
            }
            let theirs = reference.values.map { Float($0) }
            #expect(mine.count == theirs.count)
            let differing = zip(mine, theirs).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(reference.tensor) row \(reference.row): \(differing) values differ")
        }
    }
}
