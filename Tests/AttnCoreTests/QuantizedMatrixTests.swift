import AttnCore
import CKernels
import Foundation
import Testing

/// Q8_0 and Q4_1 matrices kept in the file's mapping give the numbers of dequantizing them whole:
/// the same rows bit for bit, and products equal to BLAS on the float32 matrix up to the order of
/// the sums.
@Suite("Quantized matrices in place: rows, products and reordering without dequantizing the whole")
struct QuantizedMatrixTests {
    /// A 40 × 64 tensor (2 blocks a row) of seeded random scales, minimums and values, written to a file.
    static func table(_ type: GGMLType, scale: UInt16? = nil, minimum: UInt16? = nil) throws -> (path: String, file: GGUFFile) {
        var generator = SplitMix64(seed: 7)
        func half(_ fixed: UInt16?) -> [UInt8] {
            let bits = fixed ?? Float16(Float(generator.next() % 1000) / 4000 + 0.001).bitPattern
            return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
        }
        var data: [UInt8] = []
        for _ in 0..<(40 * 2) {
            data += half(scale)
            if type == .q4_1 { data += half(minimum).map { $0 } }
            for _ in 0..<(type == .q4_1 ? 16 : 32) { data.append(UInt8(truncatingIfNeeded: generator.next())) }
        }
        let bytes = ggufFile(tensors: [TestTensor(name: "t", dimensions: [64, 40], type: type.rawValue, data: data)])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("q-\(UUID().uuidString).gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, try GGUFFile(path: path))
    }

    static func activations(_ rows: Int, seed: UInt64 = 11) -> Matrix {
        var generator = SplitMix64(seed: seed)
        return Matrix(rows: rows, columns: 64, values: (0..<(rows * 64)).map { _ in Float(generator.next() % 2001) / 1000 - 1 })
    }

    @Test("rows, a range of rows and the whole matrix are the dequantized tensor's, bit for bit", arguments: [GGMLType.q8_0, .q4_1])
    func rows(type: GGMLType) throws {
        let (path, file) = try Self.table(type)
        defer { unlink(path) }
        let dense = try file.matrix("t")
        let table = try #require(try file.quantizedMatrix("t"))
        #expect((table.type, table.rows, table.columns) == (type, 40, 64))
        let ids = [0, 39, 7, 7, 12]
        #expect(table.rows(at: ids).values == dense.rows(at: ids).values)
        #expect(table.rows(5..<9).values == dense.rows(5..<9).values)
        #expect(table.dequantized.values == dense.values)
        let order = (0..<40).map { ($0 * 7) % 40 }
        #expect(table.reorderingRows(order).dequantized.values == dense.rows(at: order).values)
    }

    @Test("x · Wᵀ through the kernel (1 to 64 rows) and through BLAS (more) equals BLAS on the float32 matrix",
          arguments: [GGMLType.q8_0, .q4_1])
    func products(type: GGMLType) throws {
        let (path, file) = try Self.table(type)
        defer { unlink(path) }
        let dense = try file.matrix("t")
        let table = try #require(try file.quantizedMatrix("t"))
        for count in [1, 3, 8, 9, 17, 32, 33, 70] {
            let x = Self.activations(count)
            let expected = x.multiplied(by: dense, transposeB: true)
            let found = x.multiplied(byTransposeOf: StoredMatrix.quantized(table))
            #expect((found.rows, found.columns) == (count, 40))
            #expect(relativeError(found, expected) <= 1e-5, "\(count) rows")
        }
    }

    @Test("a row of x gets the same bits alone (a decoding step) as among 19 others (a sentence)", arguments: [GGMLType.q8_0, .q4_1])
    func rowsIndependent(type: GGMLType) throws {
        let (path, file) = try Self.table(type)
        defer { unlink(path) }
        let table = try #require(try file.quantizedMatrix("t"))
        let x = Self.activations(20, seed: 3)
        let together = x.multiplied(byTransposeOf: StoredMatrix.quantized(table))
        for t in [0, 7, 8, 19] {
            let alone = x.rows(t..<(t + 1)).multiplied(byTransposeOf: StoredMatrix.quantized(table))
            #expect(alone.values == together.row(t), "row \(t)")
        }
    }

    @Test("every path the CPU has (portable C, AVX2, AVX-512) agrees with BLAS, for 1 to 9 rows", arguments: [GGMLType.q8_0, .q4_1])
    func paths(type: GGMLType) throws {
        let (path, file) = try Self.table(type)
        defer { unlink(path) }
        let dense = try file.matrix("t")
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        let start = raw.count - 40 * 2 * type.bytesPerBlock
        var ran = 0
        for kernel in Int32(0)...2 {
            for count in [1, 2, 3, 5, 9] {
                let x = Self.activations(count)
                let expected = x.multiplied(by: dense, transposeB: true)
                var found = [Float](repeating: 0, count: count * 40)
                let done = raw.withUnsafeBytes { bytes in
                    x.values.withUnsafeBufferPointer { xs in
                        attn_quantized_product_path(kernel, type == .q8_0 ? ATTN_Q8_0 : ATTN_Q4_1, bytes.baseAddress! + start, 2,
                                                    xs.baseAddress!, count, &found, 40, 0, 40)
                    }
                }
                guard done == 1 else { continue }
                ran += 1
                #expect(relativeError(Matrix(rows: count, columns: 40, values: found), expected) <= 1e-5, "path \(kernel), \(count) rows")
            }
        }
        #expect(ran >= 5, "the portable path always runs")
    }

    @Test("a block scale, or a Q4_1 minimum, of NaN or ∞ is refused at load, naming the first element of its block")
    func nonFinite() throws {
        for (type, scale, minimum) in [(GGMLType.q8_0, UInt16(0x7E00), UInt16?.none), (.q4_1, nil, 0x7C00)] {
            let (path, file) = try Self.table(type, scale: scale, minimum: minimum)
            defer { unlink(path) }
            #expect(throws: AttnError.self) { _ = try file.quantizedMatrix("t") }
            do { _ = try file.quantizedMatrix("t") } catch {
                #expect("\(error)".contains("tensor t holds \(type == .q8_0 ? "nan" : "inf") at [0, 0]"), "\(error)")
            }
        }
    }
}
