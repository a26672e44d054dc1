/// A dense row-major matrix of `Float`: the one tensor type of attn.
///
/// Every intermediate the learner sees is a `Matrix`: tokens are rows, features are columns.
/// ```
/// element(i, j) = values[i * columns + j]
/// ```
public struct Matrix: Sendable, Equatable {
    /// Number of rows (for activations: tokens, `T`).
    public let rows: Int
    /// Number of columns (for activations: features, e.g. `d_model` or `d_head`).
    public let columns: Int
    /// The elements in row-major (C) order; `values.count == rows * columns`.
    public var values: [Float]

    /// A matrix from row-major values.
    /// - Precondition: `values.count == rows * columns` (a programming error otherwise, never user input).
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(rows >= 0 && columns >= 0 && values.count == rows * columns,
                     "Matrix(\(rows) × \(columns)) needs \(rows * columns) values, got \(values.count)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// A matrix of zeros (or of `value`).
    public init(rows: Int, columns: Int, repeating value: Float = 0) {
        self.init(rows: rows, columns: columns, values: [Float](repeating: value, count: rows * columns))
    }

    /// A matrix whose every element `fill` writes, without zeroing them first: a product's output,
    /// which BLAS or a kernel overwrites whole. Zeroing them was a tenth of `importance` on a
    /// decoder (Tests/Benchmarks/README.md, “Freed matrices kept for the next pass”).
    /// - Precondition: `fill` writes all `rows · columns` elements of the buffer it is given.
    init(rows: Int, columns: Int, writingEvery fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let count = rows * columns
        self.init(rows: rows, columns: columns, values: [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(UnsafeMutableBufferPointer(rebasing: buffer[0..<count]))
            initialized = count
        })
    }

    /// A matrix from nested rows, all of the same length.
    public init(_ rowValues: [[Float]]) {
        let columns = rowValues.first?.count ?? 0
        precondition(rowValues.allSatisfy { $0.count == columns }, "ragged rows")
        self.init(rows: rowValues.count, columns: columns, values: rowValues.flatMap { $0 })
    }

    /// The shape as `(rows, columns)`.
    public var shape: (rows: Int, columns: Int) { (rows, columns) }

    /// The shape as the learner reads it: `[8 × 32]`.
    public var shapeDescription: String { "[\(rows) × \(columns)]" }

    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    /// Row `i` as an array.
    public func row(_ i: Int) -> [Float] {
        Array(values[(i * columns)..<((i + 1) * columns)])
    }

    /// Column `j` as an array.
    public func column(_ j: Int) -> [Float] {
        (0..<rows).map { values[$0 * columns + j] }
    }

    /// The transpose: `Aᵀ[j, i] = A[i, j]`.
    public var transposed: Matrix {
        var out = Matrix(rows: columns, columns: rows)
        for i in 0..<rows {
            for j in 0..<columns { out.values[j * rows + i] = values[i * columns + j] }
        }
        return out
    }

    /// The columns `range` of every row: how one head's slice is cut from a projection.
    /// ```
    /// Q_h = Q[:, h·dₕ ..< (h+1)·dₕ]        (T × d_model) → (T × dₕ)
    /// ```
    public func columns(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= columns)
        var out = [Float]()
        out.reserveCapacity(rows * range.count)
        for i in 0..<rows {
            out.append(contentsOf: values[(i * columns + range.lowerBound)..<(i * columns + range.upperBound)])
        }
        return Matrix(rows: rows, columns: range.count, values: out)
    }

    /// The rows `range`, all columns.
    public func rows(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows)
        return Matrix(rows: range.count, columns: columns,
                      values: Array(values[(range.lowerBound * columns)..<(range.upperBound * columns)]))
    }

    /// Writes `part` over the cells from row `row`, column `column` on.
    mutating func write(_ part: Matrix, at row: Int, _ column: Int) {
        precondition(row >= 0 && column >= 0 && row + part.rows <= rows && column + part.columns <= columns)
        for i in 0..<part.rows {
            values.replaceSubrange(((row + i) * columns + column)..<((row + i) * columns + column + part.columns),
                                   with: part.values[(i * part.columns)..<((i + 1) * part.columns)])
        }
    }

    /// Rows `indices`, in that order: an embedding look-up, `E[ids]`.
    /// - Precondition: every index is a row of the matrix (token ids are checked by the tokenizer).
    public func rows(at indices: [Int]) -> Matrix {
        var out: [Float] = []
        out.reserveCapacity(indices.count * columns)
        for i in indices { out.append(contentsOf: values[(i * columns)..<((i + 1) * columns)]) }
        return Matrix(rows: indices.count, columns: columns, values: out)
    }

    /// Matrices of equal row count side by side: how the heads are joined.
    /// ```
    /// concat(Z₀, …, Z₁₁) = [Z₀ | Z₁ | … | Z₁₁]     12 × (T × 32) → (T × 384)
    /// ```
    public static func concatenateColumns(_ parts: [Matrix]) -> Matrix {
        guard let first = parts.first else { return Matrix(rows: 0, columns: 0) }
        precondition(parts.allSatisfy { $0.rows == first.rows })
        let total = parts.reduce(0) { $0 + $1.columns }
        var out = [Float]()
        out.reserveCapacity(first.rows * total)
        for i in 0..<first.rows {
            for part in parts {
                out.append(contentsOf: part.values[(i * part.columns)..<((i + 1) * part.columns)])
            }
        }
        return Matrix(rows: first.rows, columns: total, values: out)
    }

    /// Matrices of equal column count one below the other: a KV cache growing by new positions.
    public static func concatenateRows(_ parts: [Matrix]) -> Matrix {
        guard let first = parts.first else { return Matrix(rows: 0, columns: 0) }
        precondition(parts.allSatisfy { $0.columns == first.columns })
        var values: [Float] = []
        values.reserveCapacity(parts.reduce(0) { $0 + $1.values.count })
        for part in parts { values.append(contentsOf: part.values) }
        return Matrix(rows: parts.reduce(0) { $0 + $1.rows }, columns: first.columns, values: values)
    }

    /// The largest absolute element-wise difference, `max |A − B|`; `nil` when the shapes differ.
    public func maxAbsoluteDifference(_ other: Matrix) -> Float? {
        guard rows == other.rows, columns == other.columns else { return nil }
        var worst: Float = 0
        for (a, b) in zip(values, other.values) {
            if a == b { continue }  // also equal infinities (masked cells)
            let d = abs(a - b)
            if d.isNaN { return .nan }  // a NaN anywhere is the worst difference
            worst = Swift.max(worst, d)
        }
        return worst
    }

    /// The largest absolute element, `max |A|`.
    public var maxAbsolute: Float {
        values.reduce(0) { $1.isFinite ? Swift.max($0, abs($1)) : $0 }
    }
}
