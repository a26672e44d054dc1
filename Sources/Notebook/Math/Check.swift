import AttnCore
import Foundation

/// The outcome of `check`: whether the learner's value is the model's step, and a line saying so.
public struct CheckResult: Sendable, Equatable {
    /// Shapes agree and every cell is within the tolerance.
    public let passed: Bool
    /// `max |yours − model's|` over the cells; `nil` when the shapes differ. NaN when a cell is NaN
    /// in one and not the other.
    public let maxDifference: Float?
    /// One line starting with ✓ or ✗.
    public let message: String
}

/// `check`: compares the learner's result with the model's step, cell by cell.
///
/// ```
/// passed  ⇔  shape(yours) = shape(model's)  and  max |yours − model's| ≤ tolerance
/// ```
/// The tolerance is absolute (1e-4 by default): the learner's arithmetic runs in a different order
/// from the model's, and `Float` rounding differs by about 1e-7 per operation, far below it.
///
/// Masked cells: the model writes −∞ into a masked cell, and a learner often writes a large
/// negative number instead (`M = triu(ones(T, T), 1) * -1e9`). Both make the softmax give that
/// cell exactly 0, so a cell counts as equal when both values are at or below
/// `maskedThreshold` (−1e9, which covers −∞); the ✓ line says how many such cells there were.
public enum Check {
    /// The default tolerance, max |Δ| ≤ 1e-4.
    public static let defaultTolerance: Float = 1e-4
    /// Values at or below this count as masked (the same as −∞).
    public static let maskedThreshold: Float = -1e9

    /// Compares `mine` with the model's `reference` for the step `stepName`.
    ///
    /// - Parameters:
    ///   - rowLabels, columnLabels: the tokens, to name the cell that differs most: `at [3 sat, 0 [CLS]]`.
    /// - Returns: e.g. `✓ matches weights [8 × 8]: max|Δ| = 3.0e-08`,
    ///   `✗ max|Δ| = 0.41 at [3 sat, 0 [CLS]] (yours 0.5312, the model's 0.9472); 5 of 64 cells differ by more than 0.0001`,
    ///   or `✗ shapes differ: yours [8 × 8], weights is [8 × 32]`.
    public static func compare(_ mine: MathValue, with reference: Matrix, stepName: String,
                               rowLabels: [String]?, columnLabels: [String]?,
                               rowOffset: Int = 0, columnOffset: Int = 0,
                               tolerance: Float = Check.defaultTolerance) -> CheckResult {
        let yours: Matrix
        switch comparable(mine, with: reference, stepName: stepName) {
        case let .success(matrix): yours = matrix
        case let .failure(shapes): return CheckResult(passed: false, maxDifference: nil, message: shapes.message)
        }
        let cells = Cells(yours, reference, tolerance: tolerance)
        if cells.off == 0 {
            let difference = cells.worst == 0 ? "0" : String(format: "%.1e", cells.worst)
            var message = "✓ matches \(stepName) \(reference.shapeDescription): max|Δ| = \(difference)"
            if cells.maskedStandIns > 0 {
                message += "; \(cells.maskedStandIns) masked \(cells.maskedStandIns == 1 ? "cell is" : "cells are")"
                    + " ≤ -1e9 on one side and -inf on the other, the same after softmax"
            }
            return CheckResult(passed: true, maxDifference: cells.worst, message: message)
        }
        let cell = cells.worstCell ?? 0
        let (i, j) = (cell / reference.columns, cell % reference.columns)
        // A slice of a step (`z[1]`) names its cells as the whole step does: [1 the, 12].
        func label(_ index: Int, _ labels: [String]?, offset: Int) -> String {
            guard let labels, index < labels.count else { return String(index + offset) }
            return "\(index + offset) \(labels[index])"
        }
        let modelValue = reference.values[cell]
        var message = "✗ max|Δ| = \(format(difference: cells.worst)) at [\(label(i, rowLabels, offset: rowOffset)), \(label(j, columnLabels, offset: columnOffset))]"
            + " (yours \(format(cell: yours.values[cell])), the model's \(format(cell: modelValue))"
            + (modelValue == -.infinity ? ": a masked cell)" : ")")
        if cells.off > 1 {
            message += "; \(cells.off) of \(reference.values.count) cells differ by more than \(mathNumberText(tolerance))"
        }
        if let why = diagnose(yours, reference, tolerance: tolerance) { message += ". " + why }
        return CheckResult(passed: false, maxDifference: cells.worst, message: message)
    }

    /// Why two values cannot be compared cell by cell: the ✗ line.
    struct ShapesDiffer: Error { let message: String }

    /// The learner's value as a matrix of the reference's shape. A number is compared as a 1 × 1
    /// matrix, so `mean(weights)` can be checked against a 1 × 1 step.
    static func comparable(_ mine: MathValue, with reference: Matrix, stepName: String) -> Result<Matrix, ShapesDiffer> {
        let yours: Matrix
        switch mine {
        case let .scalar(x) where reference.rows == 1 && reference.columns == 1:
            yours = Matrix(rows: 1, columns: 1, values: [x])
        case .scalar:
            return .failure(ShapesDiffer(message: "✗ shapes differ: yours is a number, \(stepName) is \(reference.shapeDescription)"))
        case let .matrix(m):
            yours = m
        }
        guard yours.rows == reference.rows, yours.columns == reference.columns else {
            let transposeFits = yours.rows == reference.columns && yours.columns == reference.rows
            return .failure(ShapesDiffer(message: "✗ shapes differ: yours \(yours.shapeDescription), \(stepName) is \(reference.shapeDescription)"
                                             + (transposeFits ? " — yours transposed (.T) would fit" : "")))
        }
        return .success(yours)
    }

    /// Every cell walked once: the largest difference, where it is, and how many cells are off.
    struct Cells {
        var worst: Float = 0
        var worstCell: Int?
        var off = 0
        /// Cells masked in both, one with a finite stand-in such as -1e9.
        var maskedStandIns = 0

        init(_ yours: Matrix, _ reference: Matrix, tolerance: Float) {
            for (k, (y, r)) in zip(yours.values, reference.values).enumerated() {
                let difference: Float
                if y == r || (y.isNaN && r.isNaN) {
                    difference = 0
                } else if y <= maskedThreshold && r <= maskedThreshold {
                    difference = 0
                    maskedStandIns += 1
                } else {
                    difference = abs(y - r)  // inf when one side is ±inf; nan when one side is nan
                }
                if !(difference <= tolerance) { off += 1 }
                // The first NaN is the worst; otherwise the largest.
                if !worst.isNaN && (difference.isNaN || difference > worst) {
                    worst = difference
                    worstCell = k
                }
            }
            // The cell to name: the first whose difference is the largest up to float rounding. A
            // missing bias is off by the same amount in a whole column, and which row's rounding
            // comes out largest depends on the CPU's BLAS kernels; the first such row does not.
            if worst.isFinite, worst > tolerance {
                let nearlyWorst = worst - 1e-5 * max(1, worst)
                worstCell = zip(yours.values, reference.values).enumerated().first { _, pair in
                    let (y, r) = pair
                    return !(y <= maskedThreshold && r <= maskedThreshold) && abs(y - r) >= nearlyWorst
                }?.offset ?? worstCell
            }
        }
    }

    // MARK: Why a check failed

    /// The usual slips, recognised from the two matrices alone, as one sentence; nil when none fits.
    ///
    /// - the transpose: `K @ Q.T` for `scores` (a square step), yoursᵀ = the model's;
    /// - a constant factor: ÷ √dₖ twice or not at all, yours = c · the model's;
    /// - a constant row: a bias left out or added twice, yours − the model's is one row repeated;
    /// - the softmax over the wrong axis: yours' columns sum to 1 where the model's rows do;
    /// - nan where the model has none: 0 · ∞ or ∞ − ∞ somewhere upstream.
    static func diagnose(_ yours: Matrix, _ reference: Matrix, tolerance: Float) -> String? {
        let n = reference.values.count
        let nans = yours.values.count { $0.isNaN }
        if nans > 0, !reference.values.contains(where: \.isNaN) {
            return "Yours has nan in \(nans) of \(n) cells, the model's in none: 0 * inf, inf - inf and inf / inf are nan, "
                + "and a nan spreads to everything computed from it (a mask of -inf times 0?)."
        }
        guard n > 1, yours.values.allSatisfy(\.isFinite), reference.values.allSatisfy(\.isFinite) else { return nil }
        func close(_ a: Float, _ b: Float) -> Bool { abs(a - b) <= max(tolerance, 1e-4 * max(abs(a), abs(b))) }

        if reference.rows == reference.columns, reference.rows > 1 {
            let t = yours.transposed
            if zip(t.values, reference.values).allSatisfy({ close($0, $1) }) {
                return "Yours is the model's transposed: rows and columns swapped (K @ Q.T instead of Q @ K.T?)."
            }
        }

        // The least-squares factor c with yours ≈ c · model's.
        var cross = 0.0, square = 0.0
        for (y, r) in zip(yours.values, reference.values) { cross += Double(y) * Double(r); square += Double(r) * Double(r) }
        if square > 0 {
            let c = cross / square
            if abs(c - 1) > 1e-3, abs(c) > 1e-6,
               zip(yours.values, reference.values).allSatisfy({ close($0, Float(c) * $1) }) {
                let factor = abs(c) >= 1 ? "× \(String(format: "%.4g", c))" : "÷ \(String(format: "%.4g", 1 / c))"
                return "Yours is the model's \(factor) in every cell: a factor applied twice, or left out?"
            }
        }

        if reference.rows > 1 {
            let difference = zip(yours.values, reference.values).map { $0 - $1 }
            let first = Array(difference[0..<reference.columns])
            let sameRow = (1..<reference.rows).allSatisfy { i in
                (0..<reference.columns).allSatisfy { j in close(difference[i * reference.columns + j], first[j]) }
            }
            if sameRow {
                return "Yours − the model's is the same row in every row: a bias left out, or added twice?"
            }
        }

        // Softmax by columns where the model's is by rows.
        func sumsToOne(_ m: Matrix) -> Bool {
            (0..<m.rows).allSatisfy { i in abs(m.row(i).reduce(0, +) - 1) < 1e-3 }
        }
        if yours.rows > 1, sumsToOne(reference), !sumsToOne(yours), sumsToOne(yours.transposed) {
            return "The columns of yours sum to 1, the model's rows do: softmax works by rows (axis=1)."
        }
        return nil
    }

    /// A difference with two significant digits: `0.41`, `0.00012`, `3`, `inf`.
    static func format(difference: Float) -> String {
        difference.isFinite ? String(format: "%.2g", difference) : mathNumberText(difference)
    }

    /// A cell's value with four decimals, or in exponent form when that would hide it: `0.5312`,
    /// `-1.0000e+09`, `-inf`.
    static func format(cell x: Float) -> String {
        guard x.isFinite else { return mathNumberText(x) }
        return abs(x) >= 1e5 || (x != 0 && abs(x) < 1e-4) ? String(format: "%.4e", x) : String(format: "%.4f", x)
    }
}
