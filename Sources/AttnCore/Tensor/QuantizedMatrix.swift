import CKernels
import Foundation

/// A quantized matrix left as the GGUF file stores it, in the file's mapping: rows are dequantized
/// when they are read, and its products are computed block by block.
///
/// ```
/// Q8_0 row = columns/32 blocks of 34 bytes: d (fp16) │ q₀ … q₃₁ (int8)          wᵢ = d · qᵢ
/// Q4_1 row = columns/32 blocks of 20 bytes: d, m (fp16) │ 16 bytes of nibbles   wᵢ = d · qᵢ + m
/// Q5_0 row = columns/32 blocks of 22 bytes: d │ 32 fifth bits │ nibbles          wᵢ = d · (qᵢ − 16)
/// Q4_K row = columns/256 blocks of 144 bytes: 8 groups of 32     wᵢ = (d · scale_g) · qᵢ − dmin · min_g
/// Q6_K row = columns/256 blocks of 210 bytes: 16 groups of 16    wᵢ = (d · scale_g) · (qᵢ − 32)
/// (x · Wᵀ)[t, r] = Σ_blocks Σᵢ wᵢ · x[t, i]
/// ```
/// SmolLM2's layers are Q4_1 (66 MB, against 424 MB as float32) and its embedding table Q8_0
/// (30 MB against 113 MB); Gemma 3's table is Q8_0 (178 MB against 671 MB) and its layers Q5_0,
/// Q8_0, Q4_K and Q6_K (68 MB against 401 MB). Kept quantized, loading costs nothing, a sentence
/// dequantizes only its own embedding rows, and a decoding step reads a fraction of the bytes.
/// Every weight is the float32 that dequantizing the whole tensor gives (``Dequantization``); only
/// the order of the sums in a product differs.
public struct QuantizedMatrix: @unchecked Sendable {
    // @unchecked: `bytes` is read-only after init, in a mapping or a copy that it keeps alive.
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    private let bytes: Bytes

    /// The block types whose products have a kernel (``attn_quantized_product``), as the kernel
    /// names them.
    static let kernelTypes: [GGMLType: attn_block_type] = [
        .q8_0: ATTN_Q8_0, .q4_1: ATTN_Q4_1, .q5_0: ATTN_Q5_0, .q4_k: ATTN_Q4_K, .q6_k: ATTN_Q6_K,
    ]

    /// The block types kept in place.
    public static let types = Set(kernelTypes.keys)

    /// Where a block's fp16 scales lie, in bytes from its start: d, and Q4_1's m or the K-quants'
    /// dmin (d again for the types with one scale). A NaN or ±∞ there makes every element it
    /// scales one too.
    static func scaleOffsets(_ type: GGMLType) -> (first: Int, second: Int) {
        switch type {
        case .q4_1, .q4_k: (0, 2)
        case .q6_k: (208, 208)
        default: (0, 0)
        }
    }

    /// Bytes per row.
    var rowBytes: Int { columns / type.blockSize * type.bytesPerBlock }

    /// Where the blocks lie: in a file's mapping, or in a copy this value owns (rows reordered).
    private final class Bytes: @unchecked Sendable {
        let base: UnsafeRawPointer
        private let file: MappedFile?
        private let owned: UnsafeMutableRawPointer?

        init(file: MappedFile, base: UnsafeRawPointer) {
            (self.file, self.base, owned) = (file, base, nil)
        }

        init(copying count: Int, _ fill: (UnsafeMutableRawPointer) -> Void) {
            let memory = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
            fill(memory)
            (file, base, owned) = (nil, UnsafeRawPointer(memory), memory)
        }

        deinit { owned?.deallocate() }
    }

    /// The matrix whose `rows · rowBytes` bytes start at `data` inside `file`'s mapping.
    /// - Precondition: `type` is in ``types``, `columns` is a multiple of its block size (32 or
    ///   256) and the bytes lie inside the mapping (the GGUF reader checked both).
    init(type: GGMLType, file: MappedFile, data: UnsafeRawPointer, rows: Int, columns: Int) {
        precondition(Self.types.contains(type) && columns % type.blockSize == 0)
        (self.type, self.rows, self.columns) = (type, rows, columns)
        bytes = Bytes(file: file, base: data)
    }

    private init(type: GGMLType, rows: Int, columns: Int, bytes: Bytes) {
        (self.type, self.rows, self.columns, self.bytes) = (type, rows, columns, bytes)
    }

    /// The bytes of rows `range`.
    private func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes.base + range.lowerBound * rowBytes, count: range.count * rowBytes)
    }

    /// The same matrix with its rows reordered, `result[i] = self[order[i]]`, in a copy of the
    /// blocks (whole rows move, so nothing is requantized): llama.cpp's permutation of q and k
    /// undone at load (``LlamaWeights``).
    public func reorderingRows(_ order: [Int]) -> QuantizedMatrix {
        precondition(order.count == rows && order.allSatisfy { (0..<rows).contains($0) })
        let rowBytes = rowBytes
        let copy = Bytes(copying: rows * rowBytes) { target in
            for (i, source) in order.enumerated() {
                (target + i * rowBytes).copyMemory(from: bytes.base + source * rowBytes, byteCount: rowBytes)
            }
        }
        return QuantizedMatrix(type: type, rows: rows, columns: columns, bytes: copy)
    }

    /// The first block whose scale (or minimum's scale) is NaN or ±∞, as (row, column of its
    /// first element), or nil: every element of such a block would be. Read from the bits (an fp16
    /// is NaN or ±∞ when its five exponent bits are all ones), so that the 4 million scales of
    /// SmolLM2 take a few milliseconds at load.
    func firstNonFiniteScale() -> (row: Int, column: Int, value: Float)? {
        let blocksPerRow = columns / type.blockSize, size = type.bytesPerBlock
        let (first, second) = Self.scaleOffsets(type)
        func bad(_ p: UnsafeRawPointer) -> Bool { UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)) & 0x7C00 == 0x7C00 }
        for block in 0..<(rows * blocksPerRow) {
            let start = bytes.base + block * size
            guard bad(start + first) || bad(start + second) else { continue }
            return (block / blocksPerRow, block % blocksPerRow * type.blockSize,
                    Dequantization.half(start, bad(start + first) ? first : second))
        }
        return nil
    }

    /// The rows `ids`, dequantized: an embedding lookup.
    public func rows(at ids: [Int]) -> Matrix {
        var out = Matrix(rows: ids.count, columns: columns)
        out.values.withUnsafeMutableBufferPointer { buffer in
            for (i, id) in ids.enumerated() {
                precondition(id >= 0 && id < rows, "row \(id) of a matrix of \(rows)")
                Dequantization.run(type, source: bytes(id..<(id + 1)),
                                   into: UnsafeMutableBufferPointer(rebasing: buffer[(i * columns)..<((i + 1) * columns)]))
            }
        }
        return out
    }

    /// The rows `range`, dequantized: one head's rows of a projection.
    public func rows(_ range: Range<Int>) -> Matrix {
        var out = Matrix(rows: range.count, columns: columns)
        out.values.withUnsafeMutableBufferPointer { Dequantization.run(type, source: bytes(range), into: $0) }
        return out
    }

    /// The whole matrix as float32 (for the learner's `W_Q` or `E`: 671 MB for Gemma's table).
    public var dequantized: Matrix { rows(0..<rows) }

    /// Up to this many rows of x run through the block kernel; more dequantize the weight (in
    /// chunks) and multiply through BLAS, whose packed kernels then win: a long sentence pays for
    /// the dequantizing once, spread over its rows (Tests/Benchmarks/README.md, “Quantized weights”).
    public static let kernelRows = 64

    /// How many rows a BLAS product dequantizes at once: 8192 × 640 floats is 21 MB.
    static let chunkRows = 8192

    /// `x · selfᵀ`, (T × columns) · (columns × rows) → (T × rows): a linear layer without bias,
    /// or logits from a tied embedding.
    public func multipliedTransposed(_ x: Matrix) -> Matrix {
        precondition(x.columns == columns, "inner sizes differ")
        return x.rows <= Self.kernelRows ? kernelProduct(x) : blasProduct(x)
    }

    /// Rows of x against the blocks as stored (`attn_quantized_product`, AVX-512 or AVX2 where the
    /// CPU has it), half of W's rows on each core.
    func kernelProduct(_ x: Matrix) -> Matrix {
        let columns = columns, rows = rows, count = x.rows
        guard let kind = Self.kernelTypes[type] else { preconditionFailure("\(type) has no kernel") }
        guard count > 0, rows > 0, columns > 0 else { return Matrix(rows: count, columns: rows) }
        // The two halves of W's rows write every element of out: no zeros first.
        return Matrix(rows: count, columns: rows) { result in
            x.values.withUnsafeBufferPointer { xs in
                guard let xBase = xs.baseAddress, let outBase = result.baseAddress else { return }
                let shared = SharedPointers(x: xBase, out: outBase, data: bytes.base)
                inTwoHalves { part in
                    let half = rows / 2
                    attn_quantized_product(kind, shared.data, columns, shared.x, count, shared.out, rows,
                                           part == 0 ? 0 : half, part == 0 ? half : rows)
                }
            }
        }
    }

    /// Chunks of W dequantized to float32 and multiplied through BLAS.
    func blasProduct(_ x: Matrix) -> Matrix {
        var out = Matrix(rows: x.rows, columns: rows)
        // Each chunk is dequantized whole before BLAS reads it: no zeros first.
        let chunk = UnsafeMutableBufferPointer<Float>.allocate(capacity: min(rows, Self.chunkRows) * columns)
        defer { chunk.deallocate() }
        for lo in stride(from: 0, to: rows, by: Self.chunkRows) {
            let hi = min(rows, lo + Self.chunkRows), n = hi - lo
            let slice = UnsafeMutableBufferPointer(rebasing: chunk[0..<(n * columns)])
            Dequantization.run(type, source: bytes(lo..<hi), into: slice)
            let part = x.multiplied(byTransposeOf: UnsafeBufferPointer(slice), rows: n, columns: columns)
            if n == rows { return part }
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

    /// The buffers of a product, handed to both cores.
    private struct SharedPointers: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let out: UnsafeMutablePointer<Float>
        let data: UnsafeRawPointer
    }
}

extension GGUFFile {
    /// A tensor of a type in ``QuantizedMatrix/types`` as a ``QuantizedMatrix`` in the mapping
    /// (rows = ne1, columns = ne0), nil when the tensor is stored another way.
    /// - Throws: `.tensorNotFinite` when a block's scale or minimum is NaN or ±∞ (every element
    ///   of the block would be), naming its first element.
    public func quantizedMatrix(_ name: String) throws -> QuantizedMatrix? {
        guard let info = tensors[name], QuantizedMatrix.types.contains(info.type), info.dimensions.count == 2 else { return nil }
        let bytes = mapping.bytes(info.byteRange)
        guard let base = bytes.baseAddress else { return nil }
        let matrix = QuantizedMatrix(type: info.type, file: mapping, data: base, rows: info.dimensions[1],
                                     columns: info.dimensions[0])
        if let bad = matrix.firstNonFiniteScale() {
            throw AttnError.tensorNotFinite(path: path, tensor: name, position: [bad.row, bad.column],
                                            value: bad.value.isNaN ? "nan" : "\(bad.value)")
        }
        return matrix
    }
}
