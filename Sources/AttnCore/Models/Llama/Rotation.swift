import Foundation

/// Rotary position embedding (RoPE) in Hugging Face's layout: dimension `i` is paired with
/// `i + dₕ/2`, and the pair of position `p` is rotated by the angle `p · θᵢ`.
/// ```
/// θᵢ = base^(−2i/dₕ)                          i < dₕ/2
/// q'ᵢ        = qᵢ cos(pθᵢ) − q_{i+dₕ/2} sin(pθᵢ)
/// q'_{i+dₕ/2} = q_{i+dₕ/2} cos(pθᵢ) + qᵢ sin(pθᵢ)
/// ```
/// Because a rotation by `pθ` then the dot product with a key rotated by `p′θ` depends only on
/// `p − p′`, the scores see relative positions.
public struct Rotation: Sendable {
    public let headDimension: Int
    /// The angle per unit of position, θᵢ, for each pair.  (dₕ/2)
    public let frequencies: [Float]
    /// cos and sin of p · θᵢ for each position and pair.  (T × dₕ/2)
    public let cosines: Matrix
    public let sines: Matrix
    public let positions: Range<Int>

    public init(headDimension: Int, base: Float, positions: Range<Int>) {
        self.headDimension = headDimension
        self.positions = positions
        let half = headDimension / 2
        // As Hugging Face computes them: in float32, base^(2i/dₕ) then its reciprocal.
        frequencies = (0..<half).map { 1 / powf(base, Float(2 * $0) / Float(headDimension)) }
        var cosines = Matrix(rows: positions.count, columns: half)
        var sines = Matrix(rows: positions.count, columns: half)
        for (row, p) in positions.enumerated() {
            for i in 0..<half {
                let angle = Float(p) * frequencies[i]
                cosines[row, i] = cosf(angle)
                sines[row, i] = sinf(angle)
            }
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// Rotates every row of `x` (T × dₕ), row `r` by position `positions[r]`.
    public func apply(_ x: Matrix) -> Matrix {
        let half = headDimension / 2
        var out = x
        for r in 0..<x.rows {
            for i in 0..<half {
                let a = x[r, i], b = x[r, i + half]
                let c = cosines[r, i], s = sines[r, i]
                out[r, i] = a * c - b * s
                out[r, i + half] = b * c + a * s
            }
        }
        return out
    }
}
