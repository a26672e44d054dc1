import Dispatch

/// ggml's dequantization for the types attn reads, element for element the same `Float`s that
/// llama.cpp's reference `dequantize_row_*` (and the Python `gguf` package) compute.
///
/// Each kernel walks whole blocks. The caller splits a tensor into runs of blocks and runs them
/// on every core, so the 135M weights of SmolLM2 unpack in a fraction of a second.
enum Dequantization {
    /// Fills `destination` with the `Float` value of every element of `source`.
    ///
    /// - Precondition: `type.isReadable`, `source.count` is a whole number of blocks and
    ///   `destination.count` is the matching number of elements (the GGUF reader checked both).
    static func run(_ type: GGMLType, source: UnsafeRawBufferPointer,
                    into destination: UnsafeMutableBufferPointer<Float>) {
        let blocks = source.count / type.bytesPerBlock
        precondition(type.isReadable && blocks * type.blockSize == destination.count
                     && blocks * type.bytesPerBlock == source.count)
        guard blocks > 0, let input = source.baseAddress, let output = destination.baseAddress else { return }

        let kernel: @Sendable (UnsafeRawPointer, UnsafeMutablePointer<Float>, Range<Int>) -> Void
        switch type {
        case .f32: kernel = f32
        case .f16: kernel = f16
        case .q8_0: kernel = q8_0
        case .q4_1: kernel = q4_1
        default: return
        }

        // Runs of about 64K elements: big enough that the dispatch overhead vanishes, small
        // enough that two cores share even a 576 × 576 matrix.
        let blocksPerRun = max(1, (1 << 16) / type.blockSize)
        let runs = (blocks + blocksPerRun - 1) / blocksPerRun
        if runs == 1 {
            kernel(input, output, 0..<blocks)
            return
        }
        let buffers = Buffers(input: input, output: output)
        DispatchQueue.concurrentPerform(iterations: runs) { run in
            let first = run * blocksPerRun
            kernel(buffers.input, buffers.output, first..<min(blocks, first + blocksPerRun))
        }
    }

    /// The two buffers, handed to every worker.
    private struct Buffers: @unchecked Sendable {
        // @unchecked: the input is read-only, and each worker writes only its own run of blocks
        // of the output, so no two threads touch the same element.
        let input: UnsafeRawPointer
        let output: UnsafeMutablePointer<Float>
    }

    /// An IEEE half-precision number from its little-endian bits; exact, as every fp16 is an fp32.
    @inline(__always)
    private static func half(_ pointer: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    /// F32: the bytes are the values (little-endian).
    private static func f32(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ elements: Range<Int>) {
        #if _endian(little)
        UnsafeMutableRawPointer(destination + elements.lowerBound)
            .copyMemory(from: source + 4 * elements.lowerBound, byteCount: 4 * elements.count)
        #else
        for i in elements {
            destination[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        }
        #endif
    }

    /// F16: each element widened to `Float`.
    private static func f16(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ elements: Range<Int>) {
        for i in elements { destination[i] = half(source, 2 * i) }
    }

    /// Q8_0: 32 elements share one scale.
    /// ```
    /// block (34 bytes) = d: fp16 │ q₀ … q₃₁: int8
    /// xᵢ = d · qᵢ
    /// ```
    private static func q8_0(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        for b in blocks {
            let block = source + 34 * b
            let out = destination + 32 * b
            let d = half(block, 0)
            for i in 0..<32 { out[i] = Float(block.load(fromByteOffset: 2 + i, as: Int8.self)) * d }
        }
    }

    /// Q4_1: 32 elements share a scale and a minimum; each element is a 4-bit integer.
    /// ```
    /// block (20 bytes) = d: fp16 │ m: fp16 │ 16 bytes, byte j = q_{j+16} << 4 | q_j
    /// xᵢ = d · qᵢ + m            qᵢ ∈ 0…15
    /// ```
    /// The low nibbles hold elements 0…15 and the high nibbles 16…31, not neighbours. The product
    /// is rounded before the sum (no fused multiply-add), exactly as in ggml's C and in NumPy.
    private static func q4_1(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        for b in blocks {
            let block = source + 20 * b
            let out = destination + 32 * b
            let d = half(block, 0)
            let m = half(block, 2)
            for j in 0..<16 {
                let byte = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                out[j] = Float(byte & 0x0F) * d + m
                out[j + 16] = Float(byte >> 4) * d + m
            }
        }
    }
}
