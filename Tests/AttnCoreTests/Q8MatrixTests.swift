import AttnCore
import CKernels
import Foundation
import Testing

/// A Q8_0 table kept in the file's mapping gives the numbers of dequantizing it whole: the same
/// rows bit for bit, and products equal to BLAS on the float32 table up to the order of the sums.
@Suite("Q8_0 tables in place: embedding rows and tied logits without dequantizing the table")
struct Q8MatrixTests {
    /// A 40 × 64 Q8_0 tensor (2 blocks a row) of seeded random scales and values, written to a file.
    static func table(scale: UInt16? = nil) throws -> (path: String, file: GGUFFile) {
        var generator = SplitMix64(seed: 7)
        var data: [UInt8] = []
        for _ in 0..<(40 * 2) {
            let d = scale ?? Float16(Float(generator.next() % 1000) / 4000 + 0.001).bitPattern
            data += [UInt8(d & 0xFF), UInt8(d >> 8)]
            for _ in 0..<32 { data.append(UInt8(truncatingIfNeeded: generator.next())) }
        }
        let bytes = ggufFile(tensors: [TestTensor(name: "t", dimensions: [64, 40], type: GGMLType.q8_0.rawValue, data: data)])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("q8-\(UUID().uuidString).gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, try GGUFFile(path: path))
    }

    static func activations(_ rows: Int) -> Matrix {
        var generator = SplitMix64(seed: 11)
        return Matrix(rows: rows, columns: 64, values: (0..<(rows * 64)).map { _ in Float(generator.next() % 2001) / 1000 - 1 })
    }

    @Test("rows are the dequantized table's rows, bit for bit, and the whole table too")
    func rows() throws {
        let (path, file) = try Self.table()
        defer { unlink(path) }
        let dense = try file.matrix("t")
        let table = try #require(try file.q8Matrix("t"))
        #expect((table.rows, table.columns) == (40, 64))
        let ids = [0, 39, 7, 7, 12]
        #expect(table.rows(at: ids).values == dense.rows(at: ids).values)
        #expect(table.dequantized.values == dense.values)
    }

    @Test("x · Eᵀ for 1 row (the vector kernel, AVX2 or portable) and 3 rows (chunks through BLAS) equals BLAS on the float32 table")
    func products() throws {
        let (path, file) = try Self.table()
        defer { unlink(path) }
        let dense = try file.matrix("t")
        let table = try #require(try file.q8Matrix("t"))
        for count in [1, 3] {
            let x = Self.activations(count)
            let expected = x.multiplied(by: dense, transposeB: true)
            let found = EmbeddingTable.q8_0(table).logits(x)
            #expect((found.rows, found.columns) == (count, 40))
            #expect(relativeError(found, expected) <= 1e-5, "\(count) rows")
        }
        // The portable C path, which machines without AVX2 take, agrees too.
        let x = Self.activations(1)
        let expected = x.multiplied(by: dense, transposeB: true)
        var portable = [Float](repeating: 0, count: 40)
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        let start = raw.count - 40 * 68
        raw.withUnsafeBytes { bytes in
            x.values.withUnsafeBufferPointer { xs in
                attn_q8_0_rows_dot_portable(bytes.baseAddress! + start, 2, xs.baseAddress!, &portable, 0, 40)
            }
        }
        #expect(relativeError(Matrix(rows: 1, columns: 40, values: portable), expected) <= 1e-5)
    }

    @Test("a block scale of NaN or ∞ is refused at load, naming the first element of its block")
    func nonFinite() throws {
        let (path, file) = try Self.table(scale: 0x7E00)
        defer { unlink(path) }
        #expect(throws: AttnError.self) { _ = try file.q8Matrix("t") }
        do { _ = try file.q8Matrix("t") } catch {
            #expect("\(error)".contains("tensor t holds nan at [0, 0]"))
        }
    }
}
