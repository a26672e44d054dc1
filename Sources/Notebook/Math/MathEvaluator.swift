import AttnCore
import Foundation

/// Computes the learner's expressions over the names the session binds (`X`, `Q`, `K`, `dk`, …).
///
/// The numerics are the model's own: `@` is `Matrix.multiplied` (BLAS), `softmax` is
/// `Matrix.softmaxRows`, `layernorm` is `Matrix.layerNormRows`, `gelu` is AttnCore's `gelu`. So a
/// learner who types the model's formula gets the model's numbers, to within the order of rounding.
///
/// Element-wise operators broadcast as NumPy does for two axes: sizes that are equal, or 1, fit.
/// ```
/// [8 × 8] - [8 × 1]   → [8 × 8]      each row minus its own number (S - max(S, axis=1))
/// [8 × 32] + [1 × 32] → [8 × 32]     a bias row added to every token
/// [8 × 1] * [1 × 8]   → [8 × 8]      an outer product
/// A / 8               → A's shape    a number fits everything
/// ```
///
/// Every matrix the evaluator makes is counted before it is allocated: one may hold at most
/// `maximumCells` numbers, and one line's matrices together at most `maximumCellsPerLine` (an
/// operand waits while the other side is computed, so `ones(4096, 4096) + (ones(4096, 4096) + …)`
/// holds them all at once).
public struct MathEvaluator {
    /// The values names are bound to. Names are case-sensitive.
    public let names: [String: MathValue]
    /// The selected model's ε, which `layernorm` and `rmsnorm` use unless given `eps=`: MiniLM's
    /// LayerNorm 1e-12, SmolLM2's RMSNorm 1e-5. Without a model, PyTorch's default 1e-5.
    public var normalizationEpsilon: Float = 1e-5
    /// The names as bound at another head of the selected layer, for `head(A, h)` and `heads(A)`;
    /// nil when no sentence is traced.
    public var namesAtHead: ((Int) throws -> [String: MathValue])?
    /// The heads of the selected layer: `head(A, h)` takes h in 0 ..< headCount.
    public var headCount = 0

    /// The most cells one result may have (64 MiB of `Float`): enough for MiniLM's embedding table
    /// (30522 × 384), and an error instead of an allocation that would end the session.
    public static let maximumCells = 1 << 24
    /// The most cells all the matrices of one evaluation may have together (1 GiB of `Float`).
    public static let maximumCellsPerLine = 1 << 28

    /// The cells this evaluation has made so far (shared by the copies of the evaluator).
    final class Allocated {
        var cells = 0
    }
    var allocated = Allocated()

    /// An evaluator over these bindings.
    public init(names: [String: MathValue]) {
        self.names = names
    }

    /// The value of an expression.
    /// - Throws: `NotebookError.math` with one sentence naming the learner's text and the problem:
    ///   an unknown name, shapes that do not fit, an index out of range, a function's wrong arguments.
    public func evaluate(_ expression: MathExpression) throws -> MathValue {
        switch expression {
        case let .number(value, _):
            return .scalar(value)
        case let .name(name):
            return try value(named: name)
        case let .negate(operand, text):
            switch try evaluate(operand) {
            case let .scalar(x): return .scalar(-x)
            case let .matrix(m):
                try allocate(rows: m.rows, columns: m.columns, text: String(text))
                return .matrix(m.map { -$0 })
            }
        case let .binary(op, left, right, text):
            // Every operator but @ works cell by cell.
            guard let f = op.cellFunction else { return try matrixProduct(left, right, text: String(text)) }
            return try elementwise(f, try evaluate(left), try evaluate(right), text: String(text))
        case let .transpose(operand, text):
            switch try evaluate(operand) {
            case let .scalar(x): return .scalar(x)  // a number is its own transpose, as in NumPy
            case let .matrix(m):
                try allocate(rows: m.columns, columns: m.rows, text: String(text))
                return .matrix(m.transposed)
            }
        case let .index(base, subscripts, text):
            // A.shape[0] is the rows, as NumPy's tuple: one index picks a column of the 1 × 2 row.
            if case .call("shape", _, _) = base, subscripts.count == 1 {
                return try index(try evaluate(base), base: base.text, [.position(.number(0, text: "0"))] + subscripts, text: String(text))
            }
            return try index(try evaluate(base), base: base.text, subscripts, text: String(text))
        case let .call(name, arguments, text):
            return try call(name, arguments, text: String(text))
        case let .parenthesized(inner, _):
            return try evaluate(inner)
        case let .literal(rows, text):
            return try literal(rows, text: String(text))
        }
    }

    // MARK: Names

    /// A bound value, or an error that suggests the closest bound name.
    func value(named name: String) throws -> MathValue {
        if let value = names[name] { return value }
        if let function = MathSyntax.function(named: name) {
            throw MathError.functionWithoutCall(name, usage: function.example).notebookError
        }
        let known = names.keys.sorted()
        throw MathError.unknownName(name, suggestion: closestName(to: name, in: known), known: known).notebookError
    }

    // MARK: Operators

    /// The matrix product, `(m × k) @ (k × n) → (m × n)`.
    ///
    /// `A @ B.T` multiplies by `B` with BLAS reading it transposed, as the model computes
    /// `scores = q · kᵀ`, instead of copying `Bᵀ` first; the numbers are the model's exactly.
    func matrixProduct(_ left: MathExpression, _ right: MathExpression, text: String) throws -> MathValue {
        var rightOperand = right, transposeRight = false
        if case let .transpose(inner, _) = right {
            rightOperand = inner
            transposeRight = true
        }
        guard case let .matrix(a) = try evaluate(left) else {
            throw MathError.productWithNumber(expression: text, number: left.text).notebookError
        }
        guard case let .matrix(stored) = try evaluate(rightOperand) else {
            throw MathError.productWithNumber(expression: text, number: right.text).notebookError
        }
        let b = transposeRight ? MathShape(rows: stored.columns, columns: stored.rows) : MathShape(stored)
        guard a.columns == b.rows else {
            // Suggest the transpose that would fit: usually K.T in Q @ K.
            var suggestion: String?
            if a.columns == b.columns {
                suggestion = transposeRight ? rightOperand.text : Self.transposeText(right)
            } else if a.rows == b.rows {
                if case let .transpose(inner, _) = left { suggestion = inner.text } else { suggestion = Self.transposeText(left) }
            }
            throw MathError.innerSizes(expression: text, left: MathShape(a), right: b, suggestion: suggestion).notebookError
        }
        try allocate(rows: a.rows, columns: b.columns, text: text)
        return .matrix(a.multiplied(by: stored, transposeB: transposeRight))
    }

    /// `A.T` as the learner would type it: `(A + B).T` where the text needs parentheses.
    static func transposeText(_ expression: MathExpression) -> String {
        expression.isAtom ? expression.text + ".T" : "(" + expression.text + ").T"
    }

    /// `+ - * / **`, cell by cell, broadcasting numbers, rows (1 × n) and columns (m × 1).
    func elementwise(_ f: (Float, Float) -> Float, _ left: MathValue, _ right: MathValue, text: String) throws -> MathValue {
        switch (left, right) {
        case let (.scalar(x), .scalar(y)):
            return .scalar(f(x, y))
        case let (.matrix(a), .scalar(y)):
            try allocate(rows: a.rows, columns: a.columns, text: text)
            return .matrix(a.map { f($0, y) })
        case let (.scalar(x), .matrix(b)):
            try allocate(rows: b.rows, columns: b.columns, text: text)
            return .matrix(b.map { f(x, $0) })
        case let (.matrix(a), .matrix(b)):
            guard let rows = Self.broadcast(a.rows, b.rows), let columns = Self.broadcast(a.columns, b.columns) else {
                throw MathError.notBroadcastable(expression: text, left: MathShape(a), right: MathShape(b)).notebookError
            }
            try allocate(rows: rows, columns: columns, text: text)
            // A size-1 axis repeats its one row (or column): index 0 whatever i (or j) is.
            var out = Matrix(rows: rows, columns: columns)
            for i in 0..<rows {
                let ia = a.rows == 1 ? 0 : i, ib = b.rows == 1 ? 0 : i
                for j in 0..<columns {
                    out[i, j] = f(a[ia, a.columns == 1 ? 0 : j], b[ib, b.columns == 1 ? 0 : j])
                }
            }
            return .matrix(out)
        }
    }

    /// The broadcast size of one axis: equal sizes, or 1 against anything; `nil` when they clash.
    static func broadcast(_ a: Int, _ b: Int) -> Int? {
        if a == b { return a }
        if a == 1 { return b }
        if b == 1 { return a }
        return nil
    }

    /// Refuses results larger than `maximumCells`.
    static func checkSize(rows: Int, columns: Int, text: String) throws {
        let (cells, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 0, columns >= 0, !overflow, cells <= maximumCells else {
            throw MathError.tooLarge(expression: text, rows: rows, columns: columns).notebookError
        }
    }

    /// Counts a matrix about to be made against both limits: `maximumCells` for it, and
    /// `maximumCellsPerLine` for everything this evaluation has made.
    func allocate(rows: Int, columns: Int, text: String) throws {
        try Self.checkSize(rows: rows, columns: columns, text: text)
        let total = allocated.cells + rows * columns
        guard total <= Self.maximumCellsPerLine else {
            throw MathError.lineTooLarge(expression: text, cells: total).notebookError
        }
        allocated.cells = total
    }

    // MARK: Written-out matrices

    /// `[[1, 2], [3, 4]]`: every cell a number, every row as long as the first.
    func literal(_ rows: [[MathExpression]], text: String) throws -> MathValue {
        var values: [Float] = []
        for (i, row) in rows.enumerated() {
            guard row.count == rows[0].count else {
                throw MathError.invalid(expression: text, problem: "row \(i) has \(row.count) and row 0 has \(rows[0].count) numbers: every row needs as many").notebookError
            }
            for cell in row {
                let value = try evaluate(cell)
                let m = value.asMatrix
                guard m.rows == 1, m.columns == 1 else {
                    throw MathError.invalid(expression: text, problem: "\(cell.text) is \(value.shapeDescription): each cell of [[…]] is one number").notebookError
                }
                values.append(m.values[0])
            }
        }
        return .matrix(Matrix(rows: rows.count, columns: rows[0].count, values: values))
    }

    // MARK: Subscripts

    /// `A[i]`, `A[a:b]`, `A[rows, columns]`: NumPy's rules for two axes, except that one index keeps
    /// its axis with size 1, so that the result is still a matrix: `A[2]` is 1 × n, `A[:, 1]` is
    /// m × 1. Two single indices give a number.
    func index(_ value: MathValue, base: String, _ subscripts: [MathIndex], text: String) throws -> MathValue {
        guard case let .matrix(m) = value else {
            throw MathError.invalid(expression: text, problem: "\(base) is a number, which has no rows or columns to index").notebookError
        }
        guard subscripts.count <= 2 else {
            throw MathError.invalid(expression: text, problem: "a matrix has two axes, so give at most two indices: A[rows, columns]").notebookError
        }
        let rows = try select(subscripts[0], axis: "row", count: m.rows, shape: MathShape(m), text: text)
        let columns = subscripts.count == 2
            ? try select(subscripts[1], axis: "column", count: m.columns, shape: MathShape(m), text: text)
            : (range: 0..<m.columns, single: false)
        if rows.single && columns.single { return .scalar(m[rows.range.lowerBound, columns.range.lowerBound]) }
        try allocate(rows: rows.range.count, columns: columns.range.count, text: text)
        return .matrix(m.rows(rows.range).columns(columns.range))
    }

    /// The rows (or columns) one subscript selects.
    func select(_ index: MathIndex, axis: String, count: Int, shape: MathShape, text: String) throws -> (range: Range<Int>, single: Bool) {
        switch index {
        case let .position(expression):
            let value = try evaluate(expression)
            let i = try Self.wholeNumber(value, role: "a \(axis) index", text: text)
            guard let resolved = Slice.position(i, count: count) else {
                let typed = mathNumberText(value.asMatrix.values[0])  // as the learner wrote it: 1e+20, not a clamped Int
                let problem = count == 0
                    ? "\(shape) has no \(axis)s"
                    : "\(axis) \(typed) is out of range for \(shape): the \(axis)s are 0…\(count - 1)"
                        + (i < 0 ? " (or -\(count)…-1 from the end)" : "")
                throw MathError.invalid(expression: text, problem: problem).notebookError
            }
            return (resolved..<(resolved + 1), true)
        case let .range(start, end):
            // A slice is clamped, not checked: A[0:100] is all of A, A[5:2] is empty (as `show` does).
            let lower = try start.map { try wholeNumber($0, role: "a slice's start", text: text) }
            let upper = try end.map { try wholeNumber($0, role: "a slice's end", text: text) }
            return (Slice.clamped(start: lower, end: upper, count: count), false)
        }
    }

    /// An expression that must be a whole number (an index, an axis, a size), clamped far beyond any
    /// matrix so that huge values are reported as out of range rather than overflowing `Int`.
    func wholeNumber(_ expression: MathExpression, role: String, text: String) throws -> Int {
        try Self.wholeNumber(try evaluate(expression), role: role, text: text)
    }

    static func wholeNumber(_ value: MathValue, role: String, text: String) throws -> Int {
        guard case let .scalar(x) = value else {
            throw MathError.invalid(expression: text, problem: "\(role) must be a number, not a \(value.shapeDescription) matrix").notebookError
        }
        guard x.isFinite, x == x.rounded() else {
            throw MathError.invalid(expression: text, problem: "\(role) must be a whole number, not \(mathNumberText(x))").notebookError
        }
        return Int(max(min(Double(x), 1e12), -1e12))
    }
}

extension MathOperator {
    /// What the operator does to one pair of cells; `nil` for `@`, which is not cell by cell.
    var cellFunction: ((Float, Float) -> Float)? {
        switch self {
        case .add: { $0 + $1 }
        case .subtract: { $0 - $1 }
        case .multiply: { $0 * $1 }
        case .divide: { $0 / $1 }  // x / 0 is ±inf and 0 / 0 is nan, as in NumPy
        case .power: { powf($0, $1) }
        case .matrixProduct: nil
        case .less: { $0 < $1 ? 1 : 0 }
        case .lessOrEqual: { $0 <= $1 ? 1 : 0 }
        case .greater: { $0 > $1 ? 1 : 0 }
        case .greaterOrEqual: { $0 >= $1 ? 1 : 0 }
        case .equal: { $0 == $1 ? 1 : 0 }
        case .notEqual: { $0 != $1 ? 1 : 0 }
        }
    }
}
