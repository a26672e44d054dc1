import AttnCore

/// A value of the learner's math: a matrix, or a plain number (a scalar).
///
/// Numbers broadcast against matrices as in NumPy, so `scores / 8` divides every cell by 8 and
/// `dk` (the head size) is simply the number 32.
/// ```
/// .matrix(Q)        Q is [T × dₕ]
/// .scalar(32)       dk
/// ```
public enum MathValue: Sendable, Equatable {
    /// A plain number: `dk`, `T`, `sum(A)`, `A[2, 3]`.
    case scalar(Float)
    /// A matrix, rows × columns: tokens are rows for activations, as in the model.
    case matrix(Matrix)

    /// The shape as the learner reads it: `[8 × 32]`, or `a number`.
    public var shapeDescription: String {
        switch self {
        case .scalar: "a number"
        case let .matrix(m): m.shapeDescription
        }
    }

    /// The value as a matrix: a number becomes a 1 × 1 matrix.
    public var asMatrix: Matrix {
        switch self {
        case let .scalar(x): Matrix(rows: 1, columns: 1, values: [x])
        case let .matrix(m): m
        }
    }
}

/// A number as a learner would write it: `2`, `0.5`, `-inf`, `nan`, `1e-09`.
func mathNumberText(_ x: Float) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    if x == x.rounded(), abs(x) < 1e7 { return String(Int(x)) }
    return x.description
}
