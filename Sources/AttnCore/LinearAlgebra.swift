import Foundation
import COpenBLAS

// The numerical building blocks of a transformer layer. Every matrix product goes through
// OpenBLAS's `cblas_sgemm`; the rest are short loops whose numerics are commented where they matter.

extension Matrix {
    /// The matrix product through BLAS.
    /// ```
    /// C = A · B        (m × k) · (k × n) → (m × n)
    /// ```
    /// With `transposeB`, `B` is stored as (n × k) and used as its transpose — the layout of a
    /// PyTorch `Linear` weight, so `x · Wᵀ` needs no copy.
    public func multiplied(by b: Matrix, transposeB: Bool = false) -> Matrix {
        precondition(columns == (transposeB ? b.columns : b.rows), "inner sizes differ")
        return b.values.withUnsafeBufferPointer { pb in
            transposeB ? multiplied(byTransposeOf: pb, rows: b.rows, columns: b.columns)
                : product(pb, transposeB: false, n: b.columns)
        }
    }

    /// `self · Wᵀ` for a weight `W` of shape (rows × columns) given by its row-major elements,
    /// wherever they lie: in a `Matrix`, or in a checkpoint's mapping (see `WeightMatrix`).
    public func multiplied(byTransposeOf w: UnsafeBufferPointer<Float>, rows n: Int, columns k: Int) -> Matrix {
        precondition(columns == k && w.count == n * k, "inner sizes differ")
        return product(w, transposeB: true, n: n)
    }

    /// `self · W` for a weight `W` of shape (rows × columns) given by its row-major elements: the
    /// layout of GPT-2's `Conv1D`, stored (in × out).
    public func multiplied(by w: UnsafeBufferPointer<Float>, rows k: Int, columns n: Int) -> Matrix {
        precondition(columns == k && w.count == k * n, "inner sizes differ")
        return product(w, transposeB: false, n: n)
    }

    /// Products of at least this many multiply-adds are split between two cores (`SecondCore`).
    /// A MiniLM projection of 16 tokens is 2.4 million; one head's scores, 8 thousand.
    static let splitThreshold = 1 << 18

    /// `C = A · B` (or `A · Bᵀ`) through `cblas_sgemm`, for `B` with `n` columns (or rows).
    /// A large product is cut into two halves of C's columns, one per core.
    private func product(_ b: UnsafeBufferPointer<Float>, transposeB: Bool, n: Int) -> Matrix {
        _ = blasSetUp
        let m = rows, k = columns
        if m == 0 || n == 0 || k == 0 { return Matrix(rows: m, columns: n) }
        // sgemm and sgemv with β = 0 write every element of C: no zeros first.
        return Matrix(rows: m, columns: n) { pc in
            values.withUnsafeBufferPointer { pa in
                guard let a = pa.baseAddress, let w = b.baseAddress, let out = pc.baseAddress else { return }
                // Columns lo..<hi of C: A · B[:, lo..<hi] (rows lo..<hi of a PyTorch-layout weight).
                func columns(_ lo: Int, _ hi: Int) {
                    if m == 1 && transposeB {
                        // One row against a PyTorch-layout weight (a decoding step): y = W · x
                        // through sgemv, which streams W once instead of packing it.
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(hi - lo), Int32(k), 1, w + lo * k, Int32(k),
                                    a, 1, 0, out + lo, 1)
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                                    Int32(m), Int32(hi - lo), Int32(k),
                                    1, a, Int32(k),
                                    transposeB ? w + lo * k : w + lo, Int32(transposeB ? k : n),
                                    0, out + lo, Int32(n))
                    }
                }
                if m * n * k >= Self.splitThreshold, n >= 32 {
                    // A multiple of 16 keeps both halves on the kernels' full widths. The halves
                    // are the same on a single-core machine, where they run in turn: the split
                    // can change the last bit of a sum, and output must not depend on the machine.
                    let half = (n / 2 + 15) / 16 * 16
                    inTwoHalves { $0 == 0 ? columns(0, half) : columns(half, n) }
                } else {
                    columns(0, n)
                }
            }
        }
    }

    /// A linear layer as PyTorch stores it: `weight` is (out × in), `bias` has `out` values.
    /// ```
    /// y = x · Wᵀ + b        (T × in) · (in × out) → (T × out)
    /// ```
    public func linear(weight: Matrix, bias: [Float]?) -> Matrix {
        var y = multiplied(by: weight, transposeB: true)
        if let bias { y.addRow(bias) }
        return y
    }

    /// Adds `row` to every row (broadcasting a bias).
    public mutating func addRow(_ row: [Float]) {
        precondition(row.count == columns)
        let (rows, columns) = (self.rows, self.columns)
        values.withUnsafeMutableBufferPointer { v in
            row.withUnsafeBufferPointer { r in
                for i in 0..<rows {
                    for j in 0..<columns { v[i * columns + j] += r[j] }
                }
            }
        }
    }

    /// Element-wise sum of two matrices of the same shape (a residual connection).
    public static func + (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns)
        var sum = a
        sum.values.withUnsafeMutableBufferPointer { s in
            b.values.withUnsafeBufferPointer { b in
                for i in s.indices { s[i] += b[i] }
            }
        }
        return sum
    }

    /// Every element multiplied by `s`.
    public func scaled(by s: Float) -> Matrix {
        Matrix(rows: rows, columns: columns, values: values.map { $0 * s })
    }

    /// Every element passed through `f`.
    public func map(_ f: (Float) -> Float) -> Matrix {
        Matrix(rows: rows, columns: columns, values: values.map(f))
    }

    /// Softmax of each row.
    /// ```
    /// softmax(s)ⱼ = exp(sⱼ − max s) / Σₖ exp(sₖ − max s)
    /// ```
    /// Subtracting the row max changes nothing mathematically (it cancels in the ratio) but keeps
    /// `exp` from overflowing; a cell of −∞ (masked) becomes exactly 0. A row with a nan is nan.
    public func softmaxRows() -> Matrix {
        var out = self
        out.updateRows { row, _ in softmaxRow(row) }
        return out
    }

    /// Applies `body` to each row in place, with the row's index: the one loop of the row-wise
    /// steps (the softmax; attention's scale, mask and softmax, ``Attention``).
    mutating func updateRows(_ body: (UnsafeMutableBufferPointer<Float>, Int) -> Void) {
        let (rows, columns) = (rows, columns)
        values.withUnsafeMutableBufferPointer { cells in
            for i in 0..<rows {
                body(UnsafeMutableBufferPointer(rebasing: cells[(i * columns)..<((i + 1) * columns)]), i)
            }
        }
    }

    /// Layer normalization of each row, with a learned scale `gamma` and shift `beta`.
    /// ```
    /// LN(x) = (x − mean(x)) / √(var(x) + ε) · γ + β        var is the biased (population) variance
    /// ```
    public func layerNormRows(gamma: [Float], beta: [Float], epsilon: Float) -> Matrix {
        precondition(gamma.count == columns && beta.count == columns)
        var out = self
        let (rows, columns) = (self.rows, self.columns)
        out.values.withUnsafeMutableBufferPointer { x in
            gamma.withUnsafeBufferPointer { gamma in
                beta.withUnsafeBufferPointer { beta in
                    for i in 0..<rows {
                        let row = UnsafeMutableBufferPointer(rebasing: x[(i * columns)..<((i + 1) * columns)])
                        let (mean, inverse) = Matrix.layerNormStatistics(UnsafeBufferPointer(row), epsilon: epsilon)
                        for j in 0..<columns { row[j] = (row[j] - mean) * inverse * gamma[j] + beta[j] }
                    }
                }
            }
        }
        return out
    }

    /// One row's mean and the scale LayerNorm multiplies its centred values by, before γ: what
    /// direct logit attribution freezes at the real pass's value.
    /// ```
    /// mean(x),  1 / √(var(x) + ε)        var is the biased (population) variance
    /// ```
    public static func layerNormStatistics(_ row: UnsafeBufferPointer<Float>, epsilon: Float) -> (mean: Float, inverse: Float) {
        let n = Float(row.count)
        var mean: Float = 0
        for j in 0..<row.count { mean += row[j] }
        mean /= n
        var variance: Float = 0
        for j in 0..<row.count {
            let d = row[j] - mean
            variance += d * d
        }
        variance /= n
        return (mean, 1 / (variance + epsilon).squareRoot())
    }
}

/// GELU in its exact (erf) form, as BERT uses it.
/// ```
/// GELU(x) = x · ½ · (1 + erf(x / √2))
/// ```
/// `erf` is computed as PyTorch computes it on x86 CPUs (its vectorized `erf`, Abramowitz and
/// Stegun's formula 7.1.26), within 1.5 × 10⁻⁷ of the true value (2.5 × 10⁻⁷ in floats):
/// ```
/// t = 1 / (1 + p·|z|)
/// erf(z) = sign(z) · (1 − (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵) · exp(−z²))
/// ```
/// It is three times as fast as the C library's `erff` (Tests/Benchmarks/README.md).
@inlinable
public func gelu(_ x: Float) -> Float {
    let a = abs(x * 0.70710678118654752440)
    return geluFinish(x, t: geluT(a), exponential: expf(-a * a))
}

/// The two halves of `gelu` around its one call to `expf`: `Matrix.geluCells` runs each over a
/// whole row of cells, where the compiler can use vector instructions, and so computes the same
/// numbers as `gelu` cell by cell.
@inlinable
func geluT(_ a: Float) -> Float { 1 / (1 + 0.3275911 * a) }

@inlinable
func geluFinish(_ x: Float, t: Float, exponential: Float) -> Float {
    let polynomial = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    let erfOfA = 1 - polynomial * exponential
    let erf = x < 0 ? -erfOfA : erfOfA  // the sign of z = x/√2
    return x * 0.5 * (1 + erf)
}

extension Matrix {
    /// `gelu` of every cell: the same numbers, in three passes over the cells (the first and the
    /// last in vector instructions), half of them on each core.
    public func geluCells() -> Matrix {
        var out = Matrix(rows: rows, columns: columns)
        let count = values.count, half = count / 2
        var t = [Float](repeating: 0, count: count), exponential = [Float](repeating: 0, count: count)
        values.withUnsafeBufferPointer { x in
            out.values.withUnsafeMutableBufferPointer { y in
                t.withUnsafeMutableBufferPointer { t in
                    exponential.withUnsafeMutableBufferPointer { e in
                        func cells(_ part: Int) {
                            let range = part == 0 ? 0..<half : half..<count
                            for i in range {
                                let a = abs(x[i] * 0.70710678118654752440)
                                t[i] = geluT(a)
                                e[i] = -a * a
                            }
                            for i in range { e[i] = expf(e[i]) }
                            for i in range { y[i] = geluFinish(x[i], t: t[i], exponential: e[i]) }
                        }
                        if count >= 4096 { inTwoHalves(cells) } else { cells(0); cells(1) }
                    }
                }
            }
        }
        return out
    }
}

/// A softmax over one row, in place: the one softmax of attn (``Matrix/softmaxRows()``, the
/// attention weights, the learner's `softmax`).
/// ```
/// softmax(s)ⱼ = exp(sⱼ − max s) / Σₖ exp(sₖ − max s)
/// ```
func softmaxRow(_ row: UnsafeMutableBufferPointer<Float>) {
    // find the max value (for numerical stability); a nan is the max, so that its row comes out
    // nan as in NumPy (Swift.max would skip it)
    let maximum = rowMaximum(UnsafeBufferPointer(row))
    if maximum == -.infinity {  // a fully masked row has no distribution; leave zeros
        for j in row.indices { row[j] = 0 }
        return
    }
    // exponentiate and sum, left to right; a masked cell (−∞) is exactly 0 without calling exp
    var sum: Float = 0
    for j in row.indices {
        let e = row[j] == -.infinity && maximum.isFinite ? 0 : expf(row[j] - maximum)
        row[j] = e
        sum += e
    }
    // normalize
    for j in row.indices { row[j] /= sum }
}

/// The largest value of a row, or nan when it holds one. Eight cells at a time: a row of a long
/// sentence's weights is thousands of cells, and a comparison with a branch on nan for each
/// (the loop before) kept the compiler from vector instructions; a 2047-token SmolLM2 trace spent
/// a tenth of its time here. The largest value is the same whatever the order.
func rowMaximum(_ row: UnsafeBufferPointer<Float>) -> Float {
    guard let base = row.baseAddress else { return -.infinity }
    let wide = row.count / 8 * 8
    var largest = SIMD8<Float>(repeating: -.infinity)
    var nan = SIMDMask<SIMD8<Int32>>(repeating: false)
    for j in stride(from: 0, to: wide, by: 8) {
        let v = UnsafeRawPointer(base + j).loadUnaligned(as: SIMD8<Float>.self)
        nan .|= v .!= v
        largest.replace(with: v, where: v .> largest)
    }
    var maximum = largest.max()
    var sawNaN = any(nan)
    for v in row[wide...] {
        if v.isNaN { sawNaN = true }
        if v > maximum { maximum = v }
    }
    return sawNaN ? .nan : maximum
}
