import AttnCore
import Foundation
import Testing

// Issue 11: everything from outside is untrusted. Model files are built here from the real ones
// (copied into temporary directories, never changed where they are fetched) or written byte by
// byte, each broken in one way; loading must fail with the error that names the problem, never
// trap, hang, or allocate beyond the model budget.

// MARK: - Helpers

/// A fresh directory under the system's temporary directory; `remove()` deletes it with everything in it.
private struct ScratchDirectory {
    let path: String

    init(_ label: String) {
        path = NSTemporaryDirectory() + "attn-untrusted-\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The real checkpoints, read only.
private enum Real {
    static var minilm: String { ModelStore.directory(for: .minilm) }
    static var smollm2: String { ModelStore.directory(for: .smollm2) + "/" + Llama.fileName }
}

/// A copy of the real MiniLM in `directory`: config.json and vocab.txt linked unless `copying`
/// names them, the weights copied.
private func minilmCopy(in directory: String, copying: Set<String> = []) throws {
    let manager = FileManager.default
    for name in ["config.json", "vocab.txt"] {
        if copying.contains(name) {
            try manager.copyItem(atPath: Real.minilm + "/" + name, toPath: directory + "/" + name)
        } else {
            try manager.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: Real.minilm + "/" + name)
        }
    }
    try manager.copyItem(atPath: Real.minilm + "/model.safetensors", toPath: directory + "/model.safetensors")
}

/// Overwrites `count` bytes at `offset` of a file.
private func overwrite(_ path: String, at offset: Int, with bytes: [UInt8]) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    handle.write(Data(bytes))
}

/// Overwrites element `element` of an F32 tensor of a safetensors file in place.
private func setElement(_ path: String, tensor: String, element: Int, to value: Float) throws {
    let entry = try #require(try SafeTensors(path: path).entries[tensor])
    try overwrite(path, at: entry.byteRange.lowerBound + 4 * element, with: withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init))
}

/// The error `body` throws, as its description; nil when it throws none.
private func failure(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return "\(error)"
    }
}

/// A GGUF file as bytes, written field by field, little-endian (the layout is drawn in `GGUFFile`).
private struct GGUFBytes {
    var bytes: [UInt8] = []

    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func string(_ text: String) {
        u64(UInt64(text.utf8.count))
        bytes += text.utf8
    }
    mutating func header(tensors: UInt64, metadata: UInt64) {
        bytes += "GGUF".utf8
        u32(3)
        u64(tensors)
        u64(metadata)
    }
    mutating func tensor(_ name: String, dimensions: [UInt64], type: GGMLType, offset: UInt64) {
        string(name)
        u32(UInt32(dimensions.count))
        for n in dimensions { u64(n) }
        u32(type.rawValue)
        u64(offset)
    }
    mutating func pad(to alignment: Int = 32) { bytes += [UInt8](repeating: 0, count: (alignment - bytes.count % alignment) % alignment) }

    /// One tensor `t` of `type` and `dimensions` whose data is `data`.
    static func single(_ type: GGMLType, dimensions: [UInt64], data: [UInt8]) -> [UInt8] {
        var file = GGUFBytes()
        file.header(tensors: 1, metadata: 0)
        file.tensor("t", dimensions: dimensions, type: type, offset: 0)
        file.pad()
        return file.bytes + data
    }
}

private func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

private func halfBits(_ x: Float) -> [UInt8] { withUnsafeBytes(of: Float16(x).bitPattern.littleEndian, Array.init) }

// MARK: - 1. Weights that are not numbers

@Suite("Untrusted model files: NaN and ±∞ among the weights")
struct NonFiniteWeightTests {
    @Test("FiniteCheck finds the first NaN or ±∞ wherever it is, and passes every finite float (subnormals, −0, the largest)")
    func scan() {
        let finite: [Float] = [0, -0, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude,
                               -.greatestFiniteMagnitude, 1, -1e-30, 3e38]
        #expect(FiniteCheck.firstNonFinite(finite) == nil)
        #expect(FiniteCheck.firstNonFinite([Float]()) == nil)
        for count in [1, 7, 4095, 4096, 4097, 10_000] {
            for index in Set([0, count / 2, count - 1]) {
                for bad in [Float.nan, .infinity, -.infinity, -Float.nan, Float(bitPattern: 0x7F80_0001)] {
                    var values = [Float](repeating: 1.5, count: count)
                    values[index] = bad
                    if index > 0 { values[index - 1] = .greatestFiniteMagnitude }
                    let found = FiniteCheck.firstNonFinite(values)
                    #expect(found?.index == index, "\(count) \(index) \(bad)")
                    #expect(found?.value.bitPattern == bad.bitPattern)
                }
            }
        }
        // Only the first is reported.
        #expect(FiniteCheck.firstNonFinite([1, .infinity, .nan])?.index == 1)
    }

    @Test("MiniLM with a NaN, +∞ or −∞ in a mapped weight, a bias or the embeddings: refused at load, naming the tensor and the cell",
          arguments: [("encoder.layer.2.intermediate.dense.weight", 5 * 384 + 7, Float.nan, "nan at [5, 7]"),
                      ("encoder.layer.4.output.LayerNorm.bias", 100, .infinity, "inf at [100]"),
                      ("embeddings.word_embeddings.weight", 30522 * 384 - 1, -.infinity, "-inf at [30521, 383]"),
                      ("embeddings.position_embeddings.weight", 0, .nan, "nan at [0, 0]")])
    func minilm(tensor: String, element: Int, value: Float, shown: String) throws {
        let scratch = ScratchDirectory("nonfinite")
        defer { scratch.remove() }
        try minilmCopy(in: scratch.path)
        let weights = scratch.path + "/model.safetensors"
        try setElement(weights, tensor: tensor, element: element, to: value)
        #expect(failure { _ = try Bert(directory: scratch.path) }
                == "\(weights) is corrupt: tensor \(tensor) holds \(shown), where a weight must be a finite number; fetch the weights again")
    }

    @Test("GGUF: an F32 or F16 element, or a Q8_0 or Q4_1 block scale (or minimum) of inf or nan is refused, naming the tensor and the cell")
    func gguf() throws {
        let scratch = ScratchDirectory("nonfinite-gguf")
        defer { scratch.remove() }
        let path = scratch.path + "/t.gguf"
        func expectRefused(_ data: [UInt8], _ type: GGMLType, _ dimensions: [UInt64], _ shown: String) throws {
            try write(GGUFBytes.single(type, dimensions: dimensions, data: data), to: path)
            let file = try GGUFFile(path: path)
            #expect(failure { _ = try file.floats("t") } == nil)  // the format allows them; a model's weights do not
            #expect(failure { _ = try file.floats("t", requiringFinite: true) }
                    == "\(path) is corrupt: tensor t holds \(shown), where a weight must be a finite number; fetch the weights again")
        }
        // F32: 2 rows of 4, the nan in row 1, column 2.
        var f32 = [UInt8]()
        for x in [0, 1, 2, 3, 4, 5, Float.nan, 7] as [Float] { f32 += withUnsafeBytes(of: x.bitPattern.littleEndian, Array.init) }
        try expectRefused(f32, .f32, [4, 2], "nan at [1, 2]")
        // F16: +∞ (0x7C00) as the fourth element.
        try expectRefused([1, 2, 3].flatMap { halfBits(Float($0)) } + [0x00, 0x7C], .f16, [4], "inf at [3]")
        // Q8_0: the second block's scale is nan; its first element is the 33rd.
        let goodQ8 = halfBits(0.5) + [UInt8](repeating: 1, count: 32)
        try expectRefused(goodQ8 + [0x00, 0x7E] + [UInt8](repeating: 1, count: 32), .q8_0, [64], "nan at [32]")
        // Q4_1: the scale is finite, the minimum −∞: every element of the block is −∞.
        try expectRefused(halfBits(0.5) + [0x00, 0xFC] + [UInt8](repeating: 0x21, count: 16), .q4_1, [32, 1], "-inf at [0, 0]")
        // Q4_1 with a scale of +∞ and q = 0 for the first element: 0 · ∞ is nan.
        try expectRefused([0x00, 0x7C] + halfBits(0) + [UInt8](repeating: 0x10, count: 16), .q4_1, [32], "nan at [0]")
    }
}
