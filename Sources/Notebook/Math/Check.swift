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
        // A number is compared as a 1 × 1 matrix, so `mean(weights)` can be checked against a 1 × 1 step.
        let yours: Matrix
        switch mine {
        case let .scalar(x) where reference.rows == 1 && reference.columns == 1:
            yours = Matrix(rows: 1, columns: 1, values: [x])
        case .scalar:
            return CheckResult(passed: false, maxDifference: nil,
                               message: "✗ shapes differ: yours is a number, \(stepName) is \(reference.shapeDescription)")
        case let .matrix(m):
            yours = m
        }
        guard yours.rows == reference.rows, yours.columns == reference.columns else {
            let transposeFits = yours.rows == reference.columns && yours.columns == reference.rows
            return CheckResult(passed: false, maxDifference: nil,
                               message: "✗ shapes differ: yours \(yours.shapeDescription), \(stepName) is \(reference.shapeDescription)"
                                   + (transposeFits ? " — yours transposed (.T) would fit" : ""))
        }

        // Walk every cell: the largest difference, where it is, and how many cells are off.
        var worst: Float = 0
        var worstCell: Int?
        var cellsOff = 0
        var maskedStandIns = 0  // cells masked in both, one with a finite stand-in such as -1e9
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
            if !(difference <= tolerance) { cellsOff += 1 }
            // The first NaN is the worst; otherwise the largest.
            if !worst.isNaN && (difference.isNaN || difference > worst) {
                worst = difference
                worstCell = k
            }
        }
        // The cell to name: the first whose difference is the largest up to float rounding. A
        // missing bias is off by the same amount in a whole column, and which row's rounding comes
        // out largest depends on the CPU's BLAS kernels; the first such row does not.
        if worst.isFinite, worst > tolerance {
            let nearlyWorst = worst - 1e-5 * max(1, worst)
            worstCell = zip(yours.values, reference.values).enumerated().first { _, pair in
                let (y, r) = pair
                return !(y <= maskedThreshold && r <= maskedThreshold) && abs(y - r) >= nearlyWorst
            }?.offset ?? worstCell
        }

        if cellsOff == 0 {
            let difference = worst == 0 ? "0" : String(format: "%.1e", worst)
            var message = "✓ matches \(stepName) \(reference.shapeDescription): max|Δ| = \(difference)"
            if maskedStandIns > 0 {
                message += "; \(maskedStandIns) masked \(maskedStandIns == 1 ? "cell is" : "cells are")"
                    + " ≤ -1e9 on one side and -inf on the other, the same after softmax"
            }
            return CheckResult(passed: true, maxDifference: worst, message: message)
        }
        let cell = worstCell ?? 0
        let (i, j) = (cell / reference.columns, cell % reference.columns)
        // A slice of a step (`z[1]`) names its cells as the whole step does: [1 the, 12].
        func label(_ index: Int, _ labels: [String]?, offset: Int) -> String {
            guard let labels, index < labels.count else { return String(index + offset) }
            return "\(index + offset) \(labels[index])"
        }
        let modelValue = reference.values[cell]
        var message = "✗ max|Δ| = \(format(difference: worst)) at [\(label(i, rowLabels, offset: rowOffset)), \(label(j, columnLabels, offset: columnOffset))]"
            + " (yours \(format(cell: yours.values[cell])), the model's \(format(cell: modelValue))"
            + (modelValue == -.infinity ? ": a masked cell)" : ")")
        if cellsOff > 1 {
            message += "; \(cellsOff) of \(reference.values.count) cells differ by more than \(mathNumberText(tolerance))"
        }
        return CheckResult(passed: false, maxDifference: worst, message: message)
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
