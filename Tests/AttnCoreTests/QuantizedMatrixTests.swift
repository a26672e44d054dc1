import AttnCore
import CKernels
import Foundation
import Testing

/// Quantized matrices kept in the file's mapping give the numbers of dequantizing them whole: the
/// same rows bit for bit, and products equal to BLAS on the float32 matrix up to the order of the
/// sums. Every block type with a kernel: Q8_0 and Q4_1 (SmolLM2), Q5_0, Q4_K and Q6_K (Gemma 3).
@Suite("Quantized matrices in place: rows, products and reordering without dequantizing the whole")
struct QuantizedMatrixTests {
    static let types: [GGMLType] = [.q8_0, .q4_1, .q5_0, .q4_k, .q6_k]

    /// The kernel's name of each type.
    static let kinds: [GGMLType: attn_block_type] = [.q8_0: ATTN_Q8_0, .q4_1: ATTN_Q4_1, .q5_0: ATTN_Q5_0,
                                                     .q4_k: ATTN_Q4_K, .q6_k: ATTN_Q6_K]

    /// Where each type's fp16 scales lie in its block (ggml's block_q*: d first, then m or dmin;
    /// Q6_K's d last).
    static let scaleOffsets: [GGMLType: [Int]] = [.q8_0: [0], .q4_1: [0, 2], .q5_0: [0], .q4_k: [0, 2], .q6_k: [208]]

    static let rows = 40

    /// Two blocks a row: 64 columns, or 512 for the K-quants' blocks of 256.
    static func columns(_ type: GGMLType) -> Int { 2 * type.blockSize }

    /// A 40-row tensor (2 blocks a row) of seeded random bytes with small random fp16 scales,
    /// written to a file; `fixed` sets the scale at a block offset in the first block instead.
    static func table(_ type: GGMLType, fixed: [Int: UInt16] = [:]) throws -> (path: String, file: GGUFFile) {
        var generator = SplitMix64(seed: 7)
        var data: [UInt8] = []
        for block in 0..<(rows * 2) {
            var bytes = (0..<type.bytesPerBlock).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            for offset in scaleOffsets[type] ?? [] {
                let bits = block == 0 ? fixed[offset] ?? 0 : 0
                let scale = bits != 0 ? bits : Float16(Float(generator.next() % 1000) / 4000 + 0.001).bitPattern
                bytes[offset] = UInt8(scale & 0xFF)
                bytes[offset + 1] = UInt8(scale >> 8)
            }
            data += bytes
        }
        let tensor = TestTensor(name: "t", dimensions: [UInt64(columns(type)), UInt64(rows)], type: type.rawValue, data: data)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("q-\(UUID().uuidString).gguf").path
        try Data(ggufFile(tensors: [tensor])).write(to: URL(fileURLWithPath: path))
        return (path, try GGUFFile(path: path))
    }

    /// x · Wᵀ through one path of the kernel (0 portable C, 1 AVX2, 2 AVX-512) on the blocks of the
    /// table written at `path`, the last bytes of its file; nil when the CPU lacks that path.
    static func kernelProduct(path kernel: Int32, _ type: GGMLType, file path: String, _ x: Matrix) throws -> [Float]? {
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        let start = raw.count - rows * 2 * type.bytesPerBlock
        guard let kind = kinds[type] else { return nil }
        var found = [Float](repeating: .nan, count: x.rows * rows)
        let done = raw.withUnsafeBytes { bytes in
            x.values.withUnsafeBufferPointer { xs in
                attn_quantized_product_path(kernel, kind, bytes.baseAddress! + start, columns(type), xs.baseAddress!,
                                            x.rows, &found, rows, 0, rows)
            }
        }
        return done == 1 ? found : nil
    }

    static func activations(_ rows: Int, columns: Int, seed: UInt64 = 11) -> Matrix {
        var generator = SplitMix64(seed: seed)
        return Matrix(rows: rows, columns: columns,
                      values: (0..<(rows * columns)).map { _ in Float(generator.next() % 2001) / 1000 - 1 })
    }

    @Test("rows, a range of rows and the whole matrix are the dequantized tensor's, bit for bit", arguments: Self.types)
    func rows(type: GGMLType) throws {
        let (path, file) = try Self.table(type)
        defer { unlink(path) }
        let dense = try file.matrix("t")
        let table = try #require(try file.quantizedMatrix("t"))
        #expect((table.type, table.rows, table.columns) == (type, 40, Self.columns(type)))
        let ids = [0, 39, 7, 7, 12]
        #expect(table.rows(at: ids).values == dense.rows(at: ids).values)
        #expect(table.rows(5..<9).values == dense.rows(5..<9).values)
        #expect(table.dequantized.values == dense.values)
        let order = (0..<40).map { ($0 * 7) % 40 }
        #expect(table.reorderingRows(order).dequantized.values == dense.rows(at: order).values)
    }

    @Test("x · Wᵀ through the kernel (1 to 64 rows) and through BLAS (more) equals BLAS on the float32 matrix",
          arguments: Self.types)
    func products(type: GGMLType) throws {
        let (path, file) = try Self.table(type)
        defer { unlink(path) }
        let dense = try file.matrix("t")
        let table = try #require(try file.quantizedMatrix("t"))
        for count in [1, 3, 8, 9, 17, 32, 33, 70] {
            let x = Self.activations(count, columns: Self.columns(type))
            let expected = x.multiplied(by: dense, transposeB: true)
            let found = x.multiplied(byTransposeOf: StoredMatrix.quantized(table))
            #expect((found.rows, found.columns) == (count, 40))
            #expect(relativeError(found, expected) <= 1e-5, "\(count) rows")
        }
    }

    @Test("a row of x gets the same bits alone (a decoding step) as among 19 others (a sentence)", arguments: Self.types)
    func rowsIndependent(type: GGMLType) throws {
        let (path, file) = try Self.table(type)
        defer { unlink(path) }
        let table = try #require(try file.quantizedMatrix("t"))
        let x = Self.activations(20, columns: Self.columns(type), seed: 3)
        let together = x.multiplied(byTransposeOf: StoredMatrix.quantized(table))
        for t in [0, 7, 8, 19] {
            let alone = x.rows(t..<(t + 1)).multiplied(byTransposeOf: StoredMatrix.quantized(table))
            #expect(alone.values == together.row(t), "row \(t)")
        }
    }

    @Test("every path the CPU has (portable C, AVX2, AVX-512) agrees with BLAS, for 1 to 9 rows", arguments: Self.types)
    func paths(type: GGMLType) throws {
        let (path, file) = try Self.table(type)
        defer { unlink(path) }
        let dense = try file.matrix("t")
        var ran = 0
        for kernel in Int32(0)...2 {
            for count in [1, 2, 3, 5, 9] {
                let x = Self.activations(count, columns: Self.columns(type))
                let expected = x.multiplied(by: dense, transposeB: true)
                guard let found = try Self.kernelProduct(path: kernel, type, file: path, x) else { continue }
                ran += 1
                #expect(relativeError(Matrix(rows: count, columns: Self.rows, values: found), expected) <= 1e-5,
                        "path \(kernel), \(count) rows")
            }
        }
        #expect(ran >= 5, "the portable path always runs")
    }

    @Test("every path the CPU has reads each weight as the float32 Dequantization gives, bit for bit", arguments: Self.types)
    func weightsExact(type: GGMLType) throws {
        // Row t of x is one-hot at column t, so out[t, r] = W[r, t] · 1 plus zeros: exact.
        let (path, file) = try Self.table(type)
        defer { unlink(path) }
        let dense = try file.matrix("t")
        let columns = Self.columns(type)
        var x = Matrix(rows: columns, columns: columns)
        for t in 0..<columns { x.values[t * columns + t] = 1 }
        let transposed = (0..<(columns * Self.rows)).map { i in dense.values[i % Self.rows * columns + i / Self.rows] }
        var ran = 0
        for kernel in Int32(0)...2 {
            guard let found = try Self.kernelProduct(path: kernel, type, file: path, x) else { continue }
            ran += 1
            let wrong = zip(found, transposed).filter { $0 != $1 }.count
            #expect(wrong == 0, "path \(kernel): \(wrong) of \(found.count) weights differ")
        }
        #expect(ran >= 1)
    }

    @Test("a block scale (d, or Q4_1's m, or a K-quant's dmin) of NaN or ∞ is refused at load, naming the first element of its block")
    func nonFinite() throws {
        let cases: [(GGMLType, offset: Int, bits: UInt16, shown: String)] = [
            (.q8_0, 0, 0x7E00, "nan"), (.q4_1, 2, 0x7C00, "inf"), (.q5_0, 0, 0xFC00, "-inf"),
            (.q4_k, 2, 0x7E00, "nan"), (.q6_k, 208, 0x7C00, "inf"),
        ]
        for (type, offset, bits, shown) in cases {
            let (path, file) = try Self.table(type, fixed: [offset: bits])
            defer { unlink(path) }
            #expect(throws: AttnError.self) { _ = try file.quantizedMatrix("t") }
            do { _ = try file.quantizedMatrix("t") } catch {
                #expect("\(error)".contains("tensor t holds \(shown) at [0, 0]"), "\(type): \(error)")
            }
        }
    }
}
