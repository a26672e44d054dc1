import Dispatch

/// ggml's dequantization for the types attn reads, element for element the same `Float`s that
/// llama.cpp's reference `dequantize_row_*` (and the Python `gguf` package) compute.
///
/// Each kernel walks whole blocks. The caller splits a tensor into runs of blocks and runs them
/// on every core, so the 135M weights of SmolLM2 unpack in a fraction of a second.
///
/// Rounding: a scale is an fp16 (11 significant bits) and the integers it multiplies have at most
/// 12 significant bits between them (Q6_K's 8-bit scale times its 6-bit quant), so every product
/// here (d · q, d · scale, then that times q) is exact in `Float`'s 24 bits. The one rounding is
/// the final `+ m` or `− dmin · min`, of two exact `Float` products, which is what gguf-py's
/// NumPy (float32 throughout, no float64) and ggml's C compute too, so the bits agree.
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
        case .bf16: kernel = bf16
        case .q4_0: kernel = q4_0
        case .q4_1: kernel = q4_1
        case .q5_0: kernel = q5_0
        case .q5_1: kernel = q5_1
        case .q8_0: kernel = q8_0
        case .q2_k: kernel = q2_k
        case .q3_k: kernel = q3_k
        case .q4_k: kernel = q4_k
        case .q5_k: kernel = q5_k
        case .q6_k: kernel = q6_k
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

    // MARK: Reading a block's fields

    /// Calls `body` with each block of `blocks`, the place of its `type.blockSize` elements, and
    /// room for as many integer quants, zeroed for every block (the unpackers below `|` into it).
    @inline(__always)
    private static func eachBlock(_ type: GGMLType, _ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>,
                                  _ blocks: Range<Int>,
                                  _ body: (UnsafeRawPointer, UnsafeMutablePointer<Float>, UnsafeMutablePointer<UInt8>) -> Void) {
        let bytes = type.bytesPerBlock, elements = type.blockSize
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: elements) { buffer in
            guard let quants = buffer.baseAddress else { return }
            for b in blocks {
                quants.initialize(repeating: 0, count: elements)
                body(source + bytes * b, destination + elements * b, quants)
            }
        }
    }

    /// An IEEE half-precision number from its little-endian bits; exact, as every fp16 is an fp32.
    @inline(__always)
    static func half(_ pointer: UnsafeRawPointer, _ offset: Int) -> Float {
        half(bits: UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// An IEEE half-precision number from its bits, by moving them: `Float(Float16(bitPattern:))`
    /// calls a library routine on x86 CPUs without F16C (attn builds for any x86-64), which was a
    /// tenth of dequantizing a Q4_1 weight for a product.
    /// ```
    /// sign s, exponent e (5 bits, bias 15), mantissa m (10 bits):
    ///   e = 0:        ±m · 2⁻²⁴                   zero and subnormals, exact in float
    ///   e = 31:       ±∞, or nan (m ≠ 0)
    ///   otherwise:    s | (e − 15 + 127) << 23 | m << 13
    /// ```
    @inline(__always)
    static func half(bits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1f, mantissa = UInt32(h & 0x3ff)
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7f80_0000 | mantissa << 13) }
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }

    @inline(__always)
    private static func byte(_ pointer: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        pointer.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// `q[e] |= 4-bit quant e` for `count` elements packed as ggml packs them: each run of `run`
    /// bytes holds `run` consecutive elements in its low nibbles, then the next `run` in its high ones.
    /// ```
    /// run 16 (Q4_0):  byte j = q_{j+16} << 4 | q_j                      (one run, 32 elements)
    /// run 32 (Q4_K):  bytes 32c … 32c+31 hold q_{64c} … q_{64c+63}     (four runs, 256 elements)
    /// ```
    @inline(__always)
    private static func nibbles(_ bytes: UnsafeRawPointer, _ count: Int, run: Int, into q: UnsafeMutablePointer<UInt8>) {
        for first in stride(from: 0, to: count, by: 2 * run) {
            let packed = bytes + first / 2
            for j in 0..<run {
                q[first + j] |= byte(packed, j) & 0x0F
                q[first + run + j] |= byte(packed, j) >> 4
            }
        }
    }

    /// `q[e] |= (2-bit quant e) << shift` for `count` elements: each run of `run` bytes holds `run`
    /// elements in bits 0–1, the next `run` in bits 2–3, then 4–5 and 6–7.
    /// ```
    /// run 32 (Q2_K, Q3_K, Q6_K's high bits):  bytes 32h … 32h+31 hold q_{128h} … q_{128h+127}
    /// ```
    @inline(__always)
    private static func twoBits(_ bytes: UnsafeRawPointer, _ count: Int, run: Int, shift: UInt8, into q: UnsafeMutablePointer<UInt8>) {
        for first in stride(from: 0, to: count, by: 4 * run) {
            let packed = bytes + first / 4
            for pair in 0..<4 {
                for j in 0..<run { q[first + run * pair + j] |= (byte(packed, j) >> (2 * pair) & 3) << shift }
            }
        }
    }

    /// `q[e] |= (bit e / 32 of byte e % 32) << shift` for 256 elements: a 32-byte mask of the
    /// high bits of Q3_K and Q5_K.
    @inline(__always)
    private static func highBits(_ mask: UnsafeRawPointer, shift: UInt8, into q: UnsafeMutablePointer<UInt8>) {
        for bit in 0..<8 {
            for j in 0..<32 { q[32 * bit + j] |= (byte(mask, j) >> bit & 1) << shift }
        }
    }

    /// The last step of the K-quants with minimums: `count` groups of `size` elements,
    /// ```
    /// xₑ = scale_g · qₑ − minimum_g          g = e / size
    /// ```
    /// where `factors(g)` gives (scale_g, minimum_g) already multiplied by the block's d and dmin,
    /// each product rounded to `Float` on its own, as gguf-py computes them.
    @inline(__always)
    private static func groups(_ out: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<UInt8>, _ count: Int, of size: Int,
                               factors: (Int) -> (scale: Float, minimum: Float)) {
        for g in 0..<count {
            let (scale, minimum) = factors(g)
            for e in size * g..<size * (g + 1) { out[e] = scale * Float(q[e]) - minimum }
        }
    }

    /// The last step of the K-quants without minimums, whose quants are centred on `zero`:
    /// xₑ = scale_g · (qₑ − zero), g = e / size.
    @inline(__always)
    private static func groups(_ out: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<UInt8>, _ count: Int, of size: Int,
                               zero: Int, scale: (Int) -> Float) {
        for g in 0..<count {
            let factor = scale(g)
            for e in size * g..<size * (g + 1) { out[e] = factor * Float(Int(q[e]) - zero) }
        }
    }

    // MARK: Plain types

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

    /// BF16: the top 16 bits of a `Float`; the low 16 are zero. Exact, NaN payloads included.
    private static func bf16(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ elements: Range<Int>) {
        for i in elements {
            destination[i] = Float(bitPattern: UInt32(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
        }
    }

    // MARK: Blocks of 32

    /// Q4_0: 32 elements share one scale; each element is a 4-bit integer around 8.
    /// ```
    /// block (18 bytes) = d: fp16 │ 16 bytes, byte j = q_{j+16} << 4 | q_j
    /// xᵢ = d · (qᵢ − 8)          qᵢ ∈ 0…15
    /// ```
    private static func q4_0(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        eachBlock(.q4_0, source, destination, blocks) { block, out, q in
            let d = half(block, 0)
            nibbles(block + 2, 32, run: 16, into: q)
            for i in 0..<32 { out[i] = Float(Int(q[i]) - 8) * d }
        }
    }

    /// Q4_1: 32 elements share a scale and a minimum; each element is a 4-bit integer.
    /// ```
    /// block (20 bytes) = d: fp16 │ m: fp16 │ 16 bytes, byte j = q_{j+16} << 4 | q_j
    /// xᵢ = d · qᵢ + m            qᵢ ∈ 0…15
    /// ```
    /// The low nibbles hold elements 0…15 and the high nibbles 16…31, not neighbours. The product
    /// (exact) comes first and the sum is the one rounding, as in ggml's C and in NumPy.
    private static func q4_1(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        eachBlock(.q4_1, source, destination, blocks) { block, out, q in
            let d = half(block, 0), m = half(block, 2)
            nibbles(block + 4, 32, run: 16, into: q)
            for i in 0..<32 { out[i] = Float(q[i]) * d + m }
        }
    }

    /// Q5_0: Q4_0 with a fifth bit for each element, all 32 in one little-endian word.
    /// ```
    /// block (22 bytes) = d: fp16 │ qh: u32, bit i = bit 4 of qᵢ │ 16 bytes of low nibbles as Q4_0
    /// xᵢ = d · (qᵢ − 16)         qᵢ ∈ 0…31
    /// ```
    private static func q5_0(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        eachBlock(.q5_0, source, destination, blocks) { block, out, q in
            let d = half(block, 0)
            fifthBits(block + 2, into: q)
            nibbles(block + 6, 32, run: 16, into: q)
            for i in 0..<32 { out[i] = Float(Int(q[i]) - 16) * d }
        }
    }

    /// Q5_1: Q4_1 with a fifth bit for each element.
    /// ```
    /// block (24 bytes) = d: fp16 │ m: fp16 │ qh: u32, bit i = bit 4 of qᵢ │ 16 bytes of low nibbles
    /// xᵢ = d · qᵢ + m            qᵢ ∈ 0…31      (the product exact, the sum the one rounding)
    /// ```
    private static func q5_1(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        eachBlock(.q5_1, source, destination, blocks) { block, out, q in
            let d = half(block, 0), m = half(block, 2)
            fifthBits(block + 4, into: q)
            nibbles(block + 8, 32, run: 16, into: q)
            for i in 0..<32 { out[i] = Float(q[i]) * d + m }
        }
    }

    /// `q[i] |= (bit i of the little-endian u32 at bytes) << 4`: Q5_0's and Q5_1's fifth bits.
    @inline(__always)
    private static func fifthBits(_ bytes: UnsafeRawPointer, into q: UnsafeMutablePointer<UInt8>) {
        let word = UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self))
        for i in 0..<32 { q[i] |= UInt8(truncatingIfNeeded: word >> i & 1) << 4 }
    }

    /// Q8_0: 32 elements share one scale.
    /// ```
    /// block (34 bytes) = d: fp16 │ q₀ … q₃₁: int8
    /// xᵢ = d · qᵢ
    /// ```
    private static func q8_0(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        eachBlock(.q8_0, source, destination, blocks) { block, out, _ in
            let d = half(block, 0)
            for i in 0..<32 { out[i] = Float(block.load(fromByteOffset: 2 + i, as: Int8.self)) * d }
        }
    }

    // MARK: K-quants: super-blocks of 256

    /// Q2_K: 256 elements in 16 groups of 16; each group has a 4-bit scale and a 4-bit minimum.
    /// ```
    /// block (84 bytes) = scales: 16 bytes, byte g = min_g << 4 | scale_g │ qs: 64 bytes of 2-bit q
    ///                  │ d: fp16 │ dmin: fp16
    /// xₑ = (d · scale_g) · qₑ − dmin · min_g        g = e / 16, qₑ ∈ 0…3
    /// ```
    /// The two factors are each rounded to `Float` before the last step, as gguf-py does (they
    /// are exact anyway: 11 bits times 4).
    private static func q2_k(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        eachBlock(.q2_k, source, destination, blocks) { block, out, q in
            let d = half(block, 80), dmin = half(block, 82)
            twoBits(block + 16, 256, run: 32, shift: 0, into: q)
            groups(out, q, 16, of: 16) { g in (d * Float(byte(block, g) & 0x0F), dmin * Float(byte(block, g) >> 4)) }
        }
    }

    /// Q3_K: 256 elements in 16 groups of 16 with a 6-bit signed scale each; each element has
    /// 2 low bits and a high bit that, strangely, subtracts 4 when it is *clear*.
    /// ```
    /// block (110 bytes) = hmask: 32 bytes (highBits) │ qs: 64 bytes of 2-bit q │ scales: 12 bytes
    ///                   │ d: fp16
    /// scales: 16 × 6 bits, see `q3_kScale`
    /// xₑ = (d · (scale_g − 32)) · (qₑ − 4)          g = e / 16, qₑ = high bit · 4 + low 2 bits
    /// ```
    /// (qₑ − 4 is ggml's `low − (high ? 0 : 4)`.)
    private static func q3_k(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        eachBlock(.q3_k, source, destination, blocks) { block, out, q in
            let d = half(block, 108)
            twoBits(block + 32, 256, run: 32, shift: 0, into: q)
            highBits(block, shift: 2, into: q)
            groups(out, q, 16, of: 16, zero: 4) { g in d * Float(q3_kScale(block + 96, g) - 32) }
        }
    }

    /// Q3_K's scale g (0…63) from its 12 bytes of scales:
    /// ```
    /// bytes 0…7:  the low 4 bits of scale_{0…7} (low nibbles) and of scale_{8…15} (high nibbles)
    /// bytes 8…11: the high 2 bits, scale_g's in bits 2·(g / 4) and up of byte 8 + g % 4
    /// ```
    @inline(__always)
    private static func q3_kScale(_ scales: UnsafeRawPointer, _ g: Int) -> Int {
        let low = g < 8 ? byte(scales, g) & 0x0F : byte(scales, g - 8) >> 4
        let high = byte(scales, 8 + g % 4) >> (2 * (g / 4)) & 3
        return Int(low | high << 4)
    }

    /// Q4_K: 256 elements in 8 groups of 32; each group has a 6-bit scale and a 6-bit minimum.
    /// ```
    /// block (144 bytes) = d: fp16 │ dmin: fp16 │ scales: 12 bytes (scaleAndMinimum) │ qs: 128 bytes,
    ///                     bytes 32c … 32c+31 = q_{64c+32+j} << 4 | q_{64c+j}
    /// xₑ = (d · scale_g) · qₑ − dmin · min_g          g = e / 32, qₑ ∈ 0…15
    /// ```
    private static func q4_k(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        eachBlock(.q4_k, source, destination, blocks) { block, out, q in
            nibbles(block + 16, 256, run: 32, into: q)
            groups(out, q, 8, of: 32) { g in scaleAndMinimum(block, g) }
        }
    }

    /// Q5_K: Q4_K with a fifth bit for each element.
    /// ```
    /// block (176 bytes) = d: fp16 │ dmin: fp16 │ scales: 12 bytes (scaleAndMinimum)
    ///                   │ qh: 32 bytes (highBits) │ qs: 128 bytes of low nibbles as Q4_K
    /// xₑ = (d · scale_g) · qₑ − dmin · min_g          g = e / 32, qₑ ∈ 0…31
    /// ```
    private static func q5_k(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        eachBlock(.q5_k, source, destination, blocks) { block, out, q in
            nibbles(block + 48, 256, run: 32, into: q)
            highBits(block + 16, shift: 4, into: q)
            groups(out, q, 8, of: 32) { g in scaleAndMinimum(block, g) }
        }
    }

    /// Q4_K's and Q5_K's group `g` factors, d · scale_g and dmin · min_g, each rounded to `Float`
    /// (exact: 11 bits times 6), from d and dmin at bytes 0 and 2 and the 12 bytes of six-bit
    /// scales and minimums at 4 (ggml's `get_scale_min_k4`):
    /// ```
    /// bytes 0…3:  scale_{0…3} in bits 0–5,   the top 2 bits of scale_{4…7} in bits 6–7
    /// bytes 4…7:  min_{0…3} in bits 0–5,     the top 2 bits of min_{4…7} in bits 6–7
    /// bytes 8…11: the low 4 bits of scale_{4…7} (low nibble) and of min_{4…7} (high nibble)
    /// ```
    @inline(__always)
    private static func scaleAndMinimum(_ block: UnsafeRawPointer, _ g: Int) -> (scale: Float, minimum: Float) {
        let packed = block + 4
        let scale, minimum: UInt8
        if g < 4 {
            scale = byte(packed, g) & 0x3F
            minimum = byte(packed, g + 4) & 0x3F
        } else {
            scale = byte(packed, g + 4) & 0x0F | (byte(packed, g - 4) >> 6) << 4
            minimum = byte(packed, g + 4) >> 4 | (byte(packed, g) >> 6) << 4
        }
        return (half(block, 0) * Float(scale), half(block, 2) * Float(minimum))
    }

    /// Q6_K: 256 elements in 16 groups of 16 with an 8-bit signed scale each; each element is
    /// 4 low bits and 2 high bits, around 32.
    /// ```
    /// block (210 bytes) = ql: 128 bytes of low nibbles, bytes 64h … 64h+63 = q_{128h+64+j} << 4 | q_{128h+j}
    ///                   │ qh: 64 bytes of 2-bit high parts (runs of 32) │ scales: 16 × int8 │ d: fp16
    /// xₑ = (d · scale_g) · (qₑ − 32)          g = e / 16, qₑ ∈ 0…63
    /// ```
    /// d · scale_g is rounded to `Float` first, as in ggml's `d * sc[is] * q` and gguf-py (exact
    /// anyway: 11 bits times 8, then times 6 is 24 bits at most).
    private static func q6_k(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Range<Int>) {
        eachBlock(.q6_k, source, destination, blocks) { block, out, q in
            let d = half(block, 208)
            nibbles(block, 256, run: 64, into: q)
            twoBits(block + 128, 256, run: 32, shift: 4, into: q)
            groups(out, q, 16, of: 16, zero: 32) { g in d * Float(block.load(fromByteOffset: 192 + g, as: Int8.self)) }
        }
    }
}
