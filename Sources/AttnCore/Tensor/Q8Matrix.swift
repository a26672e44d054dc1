import CKernels
import Foundation

/// A Q8_0 matrix left as the GGUF file stores it, in the file's mapping: rows are dequantized when
/// they are read, and its product with a few rows of activations is computed block by block.
///
/// ```
/// row r = 20 blocks of 34 bytes for 640 columns: d (fp16) │ q₀ … q₃₁ (int8)       xᵢ = d · qᵢ
/// (x · Eᵀ)[t, r] = Σ_blocks d · Σᵢ qᵢ · x[t, i]
/// ```
/// Gemma 3's embedding table is one: 262,144 × 640, 178 MB as Q8_0 and 671 MB as float32. Kept
/// quantized, loading it costs nothing, a sentence dequantizes only its own rows, and a decoding
/// step reads 178 MB instead of 671 MB for its logits. Every value is the one dequantizing the
/// whole table gives (`d · q` is exact in float32); only the order of the sums in a product differs.
public struct Q8Matrix: @unchecked Sendable {
    // @unchecked: `data` points into `file`'s read-only mapping, which this value keeps alive.
    private let file: MappedFile
    private let data: UnsafeRawPointer
    public let rows: Int
    public let columns: Int

    static let blockSize = 32, blockBytes = 34
    /// Bytes per row.
    var rowBytes: Int { columns / Self.blockSize * Self.blockBytes }

    /// The matrix whose `rows · rowBytes` bytes start at `data` inside `file`'s mapping.
    /// - Precondition: `columns` is a multiple of 32 and the bytes lie inside the mapping (the GGUF
    ///   reader checked both).
    init(file: MappedFile, data: UnsafeRawPointer, rows: Int, columns: Int) {
        precondition(columns % Self.blockSize == 0)
        (self.file, self.data, self.rows, self.columns) = (file, data, rows, columns)
    }

    /// The bytes of rows `range`.
    private func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data + range.lowerBound * rowBytes, count: range.count * rowBytes)
    }

    /// The first block whose scale is NaN or ±∞, as (row, column of its first element), or nil.
    func firstNonFiniteScale() -> (row: Int, column: Int, value: Float)? {
        let blocksPerRow = columns / Self.blockSize
        for block in 0..<(rows * blocksPerRow) {
            let d = Self.scale(data + block * Self.blockBytes)
            if !d.isFinite { return (block / blocksPerRow, block % blocksPerRow * Self.blockSize, d) }
        }
        return nil
    }

    /// A block's scale d.
    @inline(__always)
    static func scale(_ block: UnsafeRawPointer) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self))))
    }

    /// The rows `ids`, dequantized: an embedding lookup.
    public func rows(at ids: [Int]) -> Matrix {
        var out = Matrix(rows: ids.count, columns: columns)
        out.values.withUnsafeMutableBufferPointer { buffer in
            for (i, id) in ids.enumerated() {
                Dequantization.run(.q8_0, source: bytes(id..<(id + 1)),
                                   into: UnsafeMutableBufferPointer(rebasing: buffer[(i * columns)..<((i + 1) * columns)]))
            }
        }
        return out
    }

    /// The whole matrix as float32 (for the learner's `E`: 671 MB for Gemma's table).
    public var dequantized: Matrix {
        var out = Matrix(rows: rows, columns: columns)
        out.values.withUnsafeMutableBufferPointer { Dequantization.run(.q8_0, source: bytes(0..<rows), into: $0) }
        return out
    }

    /// How many rows a product dequantizes at once for BLAS: 8192 × 640 floats is 21 MB.
    static let chunkRows = 8192

    /// `x · selfᵀ`, (T × columns) · (columns × rows) → (T × rows): logits from a tied embedding.
    ///
    /// One row (a decoding step) is computed from the blocks as stored, half the rows on each
    /// core; more rows dequantize a chunk of the table at a time and multiply it through BLAS, so
    /// that a long sentence's logits cost one pass over the table.
    public func multipliedTransposed(_ x: Matrix) -> Matrix {
        precondition(x.columns == columns, "inner sizes differ")
        if x.rows == 1 { return Matrix(rows: 1, columns: rows, values: vectorProduct(x.values)) }
        var out = Matrix(rows: x.rows, columns: rows)
        var chunk = [Float](repeating: 0, count: min(rows, Self.chunkRows) * columns)
        for lo in stride(from: 0, to: rows, by: Self.chunkRows) {
            let hi = min(rows, lo + Self.chunkRows), n = hi - lo
            let part = chunk.withUnsafeMutableBufferPointer { buffer -> Matrix in
                let slice = UnsafeMutableBufferPointer(rebasing: buffer[0..<(n * columns)])
                Dequantization.run(.q8_0, source: bytes(lo..<hi), into: slice)
                return x.multiplied(byTransposeOf: UnsafeBufferPointer(slice), rows: n, columns: columns)
            }
            out.values.withUnsafeMutableBufferPointer { target in
                part.values.withUnsafeBufferPointer { source in
                    for t in 0..<x.rows {
                        _ = UnsafeMutableBufferPointer(rebasing: target[(t * rows + lo)..<(t * rows + hi)])
                            .update(fromContentsOf: source[(t * n)..<((t + 1) * n)])
                    }
                }
            }
        }
        return out
    }

    /// `selfᵀ · x` for one vector: each row's blocks against x (`attn_q8_0_rows_dot`, AVX2
    /// where the CPU has it), half the rows on each core.
    private func vectorProduct(_ x: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: rows)
        let blocks = columns / Self.blockSize, rows = rows
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { result in
                guard let xBase = xs.baseAddress, let outBase = result.baseAddress else { return }
                let shared = SharedPointers(x: UnsafeRawPointer(xBase), out: outBase, data: data)
                inTwoHalves { part in
                    let half = rows / 2
                    attn_q8_0_rows_dot(shared.data, blocks, shared.x.assumingMemoryBound(to: Float.self), shared.out,
                                       part == 0 ? 0 : half, part == 0 ? half : rows)
                }
            }
        }
        return out
    }

    /// The buffers of a product, handed to both cores.
    private struct SharedPointers: @unchecked Sendable {
        let x: UnsafeRawPointer
        let out: UnsafeMutablePointer<Float>
        let data: UnsafeRawPointer
    }
}

extension GGUFFile {
    /// A Q8_0 tensor as a ``Q8Matrix`` in the mapping (rows = ne1, columns = ne0), nil when the
    /// tensor is stored another way.
    /// - Throws: `.tensorNotFinite` when a block's scale is NaN or ±∞ (every element of the block
    ///   would be), naming its first element.
    public func q8Matrix(_ name: String) throws -> Q8Matrix? {
        guard let info = tensors[name], info.type == .q8_0, info.dimensions.count == 2 else { return nil }
        let bytes = mapping.bytes(info.byteRange)
        guard let base = bytes.baseAddress else { return nil }
        let matrix = Q8Matrix(file: mapping, data: base, rows: info.dimensions[1], columns: info.dimensions[0])
        if let bad = matrix.firstNonFiniteScale() {
            throw AttnError.tensorNotFinite(path: path, tensor: name, position: [bad.row, bad.column],
                                            value: bad.value.isNaN ? "nan" : "\(bad.value)")
        }
        return matrix
    }
}
