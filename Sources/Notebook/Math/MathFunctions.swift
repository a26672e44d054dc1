import AttnCore
import Foundation

// The functions of the learner's math (see `MathSyntax.functionTable` for the list and help).
// A number given where a matrix is expected is read as a 1 × 1 matrix, and a 1 × 1 result of a
// number stays a number: `exp(1)` is e, `softmax(3)` is 1.

extension MathEvaluator {
    /// `name(arguments)`.
    func call(_ name: String, _ arguments: [MathArgument], text: String) throws -> MathValue {
        guard let function = MathSyntax.function(named: name) else {
            if names[name] != nil { throw MathError.valueCalled(name).notebookError }
            let suggestion = name.count <= 64 ? closest(to: name, in: MathSyntax.functions) : nil
            throw MathError.unknownFunction(name, suggestion: suggestion).notebookError
        }
        // A head's names are bound before its argument is evaluated, so these two come first.
        if name == "head" { return try atHead(arguments, text: text) }
        if name == "heads" {
            throw MathError.invalid(expression: text, problem: "heads(A) is one value per head, "
                                    + "for joining them: concat(heads(A)); head(A, h) is one of them").notebookError
        }
        let call = try MathCall(function, arguments, text: text, evaluator: self)
        if let cell = Self.cellFunctions[name] { return try call.onCells(cell) }
        if let reduction = Self.reductions[name] { return try call.reduce(needsValues: reduction.needsValues, reduction.of) }
        guard let compute = Self.matrixFunctions[name] else {
            throw MathError.unknownFunction(name, suggestion: nil).notebookError  // a table entry without an implementation
        }
        return try compute(self, call)
    }

    /// The functions applied to each cell on its own.
    static let cellFunctions: [String: @Sendable (Float) -> Float] = [
        "exp": { expf($0) }, "log": { logf($0) }, "log2": { log2f($0) }, "sqrt": { $0.squareRoot() },
        "abs": { Swift.abs($0) }, "tanh": { tanhf($0) }, "cos": { cosf($0) }, "sin": { sinf($0) },
        "gelu": { AttnCore.gelu($0) }, "gelu_tanh": { AttnCore.geluTanh($0) }, "silu": { AttnCore.silu($0) },
    ]

    /// Reductions: over all cells, or with axis=0 down each column, axis=1 along each row.
    /// `needsValues`: the reduction of no cells has no answer.
    static let reductions: [String: (needsValues: Bool, of: @Sendable ([Float]) -> Float)] = [
        "max": (true, maximum),
        "min": (true, { -maximum($0.map { -$0 }) }),
        "sum": (false, sum),
        "mean": (false, { sum($0) / Float($0.count) }),
        "var": (false, variance),
        "std": (false, { variance($0).squareRoot() }),
        "norm": (false, { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }),
        "argmax": (true, { Float(indexOfMaximum($0)) }),
    ]

    /// The functions of whole matrices, and those that make one.
    static let matrixFunctions: [String: @Sendable (MathEvaluator, MathCall) throws -> MathValue] = [
        "softmax": { _, call in try softmax(call) },
        "layernorm": { evaluator, call in try evaluator.layerNorm(call) },
        "rmsnorm": { evaluator, call in try evaluator.rmsNorm(call) },
        "transpose": { _, call in try call.onMatrix { $0.transposed } },
        "rotate_half": { _, call in try call.onMatrix(rotateHalf) },
        "triu": { _, call in try triangle(call, keeping: { k, i, j in j - i >= k }) },
        "tril": { _, call in try triangle(call, keeping: { k, i, j in j - i <= k }) },
        "concat": { evaluator, call in try evaluator.concat(call) },
        "shape": { _, call in
            // A 1 × 2 row, so that it composes: zeros(A.shape[0], 1), A.shape[1] == dk.
            let (m, _) = try call.matrix("A")
            return .matrix(Matrix(rows: 1, columns: 2, values: [Float(m.rows), Float(m.columns)]))
        },
        "zeros": { evaluator, call in try evaluator.filled(call, with: 0) },
        "ones": { evaluator, call in try evaluator.filled(call, with: 1) },
        "eye": { evaluator, call in try evaluator.identity(call) },
        "arange": { evaluator, call in try evaluator.arange(call) },
    ]

    /// `softmax(A[, axis])`: by rows (or columns), subtracting each row's max first: the model's own
    /// softmax. A fully masked row (all −inf) stays 0, as in the model.
    static func softmax(_ call: MathCall) throws -> MathValue {
        let axis = try call.axis() ?? 1
        return try call.onMatrix { axis == 1 ? $0.softmaxRows() : $0.transposed.softmaxRows().transposed }
    }

    /// `rmsnorm(A[, g])`: the model's RMSNorm of each row, with the model's ε, times g.
    func rmsNorm(_ call: MathCall) throws -> MathValue {
        let (m, _) = try call.matrix("A")
        let gain = try call.bound["g"].map { try row($0, named: "g", columns: m.columns, call: call) }
            ?? [Float](repeating: 1, count: m.columns)
        let epsilon = try call.number("eps") ?? normalizationEpsilon
        return try call.onMatrix { AttnCore.rmsNorm($0, gain: gain, epsilon: epsilon) }
    }

    /// RoPE's partner of each dimension: [x₁ | x₂] → [−x₂ | x₁], halves of the columns.
    static func rotateHalf(_ a: Matrix) -> Matrix {
        let half = a.columns / 2
        var out = a
        for i in 0..<a.rows {
            for j in 0..<half {
                out[i, j] = -a[i, j + half]
                out[i, j + half] = a[i, j]
            }
        }
        return out
    }

    /// `triu(A[, k])`, `tril(A[, k])`: the cells where `keep(k, row, column)`, the others 0. The
    /// diagonal k: 0 is the main one, 1 the one above it, -1 the one below.
    static func triangle(_ call: MathCall, keeping keep: (Int, Int, Int) -> Bool) throws -> MathValue {
        let k = try call.wholeNumber("k") ?? 0
        return try call.onMatrix { m in
            var out = m
            for i in 0..<m.rows {
                for j in 0..<m.columns where !keep(k, i, j) { out[i, j] = 0 }
            }
            return out
        }
    }

    /// `zeros(m, n)`, `ones(m, n)`: an m × n matrix of `value`.
    func filled(_ call: MathCall, with value: Float) throws -> MathValue {
        let rows = try call.size("m"), columns = try call.size("n")
        try allocate(rows: rows, columns: columns, text: call.text)
        return .matrix(Matrix(rows: rows, columns: columns, repeating: value))
    }

    /// `eye(n)`: the n × n identity.
    func identity(_ call: MathCall) throws -> MathValue {
        let n = try call.size("n")
        try allocate(rows: n, columns: n, text: call.text)
        var identity = Matrix(rows: n, columns: n)
        for i in 0..<n { identity[i, i] = 1 }
        return .matrix(identity)
    }

    /// `arange([start, ]stop[, step])`: one argument is the stop, as in NumPy: arange(5) is 0 1 2 3 4.
    func arange(_ call: MathCall) throws -> MathValue {
        let first = try call.number("start") ?? 0
        let (start, stop) = try call.number("stop").map { (first, $0) } ?? (0, first)
        let step = try call.number("step") ?? 1
        guard step != 0, step.isFinite, start.isFinite, stop.isFinite else {
            throw call.problem(step == 0 ? "step must not be 0" : "start, stop and step must be finite numbers")
        }
        // stop − start can overflow to ±∞ (arange(-3e38, 3e38, -1)): no cells then, rather than a trap.
        let cells = ((stop - start) / step).rounded(.up)
        let count = cells > 0 ? Int(min(cells, 1e12)) : 0
        try allocate(rows: 1, columns: count, text: call.text)
        return .matrix(Matrix(rows: 1, columns: count, values: (0..<count).map { start + Float($0) * step }))
    }

    /// `layernorm(A[, gamma, beta])` through the model's `layerNormRows`, with the model's ε
    /// unless `eps=` gives another.
    /// ```
    /// LN(a) = (a − mean(a)) / √(var(a) + ε) · γ + β        per row; var is the population variance
    /// ```
    func layerNorm(_ call: MathCall) throws -> MathValue {
        let (m, _) = try call.matrix("A")
        var gamma = [Float](repeating: 1, count: m.columns), beta = [Float](repeating: 0, count: m.columns)
        switch (call.bound["gamma"], call.bound["beta"]) {
        case (nil, nil):
            break
        case let (g?, b?):
            gamma = try row(g, named: "gamma", columns: m.columns, call: call)
            beta = try row(b, named: "beta", columns: m.columns, call: call)
        default:
            throw call.problem("give both gamma and beta, or neither: the form is \(call.function.usage)")
        }
        let epsilon = try call.number("eps") ?? normalizationEpsilon
        return try call.onMatrix { $0.layerNormRows(gamma: gamma, beta: beta, epsilon: epsilon) }
    }

    /// `head(A, h)`: `A` evaluated with the names of head h of the selected layer (`z`, `Q`,
    /// `W_Q`, … are head h's; the learner's names stay theirs), without selecting it.
    func atHead(_ arguments: [MathArgument], text: String) throws -> MathValue {
        let usage = "head(A, h), e.g. head(z, 3)"
        guard arguments.count == 2, arguments.allSatisfy({ $0.keyword == nil || $0.keyword == "h" }) else {
            throw MathError.invalid(expression: text, problem: "the form is \(usage)").notebookError
        }
        let h = try wholeNumber(arguments[1].value, role: "the head", text: text)
        return try evaluator(atHead: h, text: text).evaluate(arguments[0].value)
    }

    /// `heads(A)` inside a call: `A` at every head of the layer, in order, each with its text.
    func everyHead(_ arguments: [MathArgument], text: String) throws -> [(value: MathValue, text: String)] {
        guard arguments.count == 1, arguments[0].keyword == nil else {
            throw MathError.invalid(expression: text, problem: "the form is heads(A), e.g. concat(heads(z))").notebookError
        }
        return try (0..<max(headCount, 1)).map { h in
            (try evaluator(atHead: h, text: text).evaluate(arguments[0].value), "head(\(arguments[0].value.text), \(h))")
        }
    }

    /// This evaluator with the names of head h, counting what it makes with this line's matrices.
    func evaluator(atHead h: Int, text: String) throws -> MathEvaluator {
        guard let namesAtHead else {
            throw MathError.invalid(expression: text, problem: "another head's values need a sentence: type sentence …").notebookError
        }
        guard (0..<headCount).contains(h) else {
            throw MathError.invalid(expression: text, problem: "head \(h) does not exist: this layer has heads 0…\(headCount - 1)").notebookError
        }
        var other = MathEvaluator(names: try namesAtHead(h))
        other.normalizationEpsilon = normalizationEpsilon
        other.namesAtHead = namesAtHead
        other.headCount = headCount
        other.allocated = allocated
        return other
    }

    /// γ or β: one row of as many numbers as `A` has columns.
    func row(_ argument: (value: MathValue, text: String), named name: String, columns: Int, call: MathCall) throws -> [Float] {
        let m = argument.value.asMatrix
        guard m.rows == 1, m.columns == columns else {
            throw call.problem("\(name) must be a [1 × \(columns)] row to match A, not \(argument.value.shapeDescription)")
        }
        return m.values
    }

    /// `concat(A, B, …)`: the columns of each, side by side; the row counts must agree.
    func concat(_ call: MathCall) throws -> MathValue {
        var parts: [Matrix] = []
        for (value, text) in call.all {
            guard case let .matrix(m) = value else {
                throw call.problem("concat joins matrices, and \(MathError.abbreviated(text)) is a number")
            }
            if let first = parts.first, first.rows != m.rows {
                let firstText = MathError.abbreviated(call.all[0].text)
                throw call.problem("\(firstText) has \(first.rows) rows and \(MathError.abbreviated(text)) has \(m.rows): "
                                   + "concat needs the same number of rows")
            }
            parts.append(m)
        }
        // Each part is at most maximumCells, so the sum of their columns cannot overflow.
        try allocate(rows: parts[0].rows, columns: parts.reduce(0) { $0 + $1.columns }, text: call.text)
        return .matrix(Matrix.concatenateColumns(parts))
    }

    // MARK: Reductions of a list of cells

    /// The largest value; nan if any is nan (as NumPy's max).
    static func maximum(_ values: [Float]) -> Float {
        var best = -Float.infinity
        for v in values {
            if v.isNaN { return v }
            if v > best { best = v }
        }
        return best
    }

    /// The position of the first largest value (or of the first nan, as NumPy's argmax).
    static func indexOfMaximum(_ values: [Float]) -> Int {
        var best = 0
        for (i, v) in values.enumerated() {
            if v.isNaN { return i }
            if v > values[best] { best = i }
        }
        return best
    }

    /// Σ a, added left to right in `Float` as the model's own loops do.
    static func sum(_ values: [Float]) -> Float {
        var total: Float = 0
        for v in values { total += v }
        return total
    }

    /// The population variance, as LayerNorm uses it (divide by n, not n − 1).
    /// ```
    /// var(a) = Σ (a − mean)² / n
    /// ```
    static func variance(_ values: [Float]) -> Float {
        let mean = sum(values) / Float(values.count)
        var total: Float = 0
        for v in values { total += (v - mean) * (v - mean) }
        return total / Float(values.count)
    }
}

/// A call's arguments, evaluated and bound to the function's parameters by position or by name.
struct MathCall {
    let function: MathFunction
    /// The evaluator, which counts the matrices the call makes.
    let evaluator: MathEvaluator
    /// The call as typed, to begin error sentences.
    let text: String
    /// Each given parameter's value and source text.
    var bound: [String: (value: MathValue, text: String)] = [:]
    /// All positional arguments, for `concat`.
    var all: [(value: MathValue, text: String)] = []

    init(_ function: MathFunction, _ arguments: [MathArgument], text: String, evaluator: MathEvaluator) throws {
        self.function = function
        self.evaluator = evaluator
        self.text = text
        var next = 0
        for argument in arguments {
            // concat(heads(z)): one argument per head.
            if function.variadic, argument.keyword == nil, case let .call("heads", inner, headsText) = argument.value {
                all += try evaluator.everyHead(inner, text: String(headsText))
                continue
            }
            let value = try evaluator.evaluate(argument.value)
            let parameter: String
            if let keyword = argument.keyword {
                guard function.parameters.dropFirst().contains(keyword) else {
                    let hint = keyword == "dim" ? " (NumPy calls it axis)" : ""
                    throw problem("\(function.name) has no argument '\(keyword)'\(hint): the form is \(function.usage)")
                }
                parameter = keyword
            } else if function.variadic {
                all.append((value, argument.value.text))
                continue
            } else {
                guard next < function.parameters.count else {
                    throw problem("too many arguments: the form is \(function.usage)")
                }
                parameter = function.parameters[next]
                next += 1
            }
            guard bound[parameter] == nil else { throw problem("\(parameter) is given twice") }
            bound[parameter] = (value, argument.value.text)
        }
        if function.variadic {
            guard !all.isEmpty else { throw problem("\(function.name) needs at least one matrix: the form is \(function.usage)") }
            return
        }
        for parameter in function.parameters.prefix(function.required) where bound[parameter] == nil {
            throw problem("\(function.name) needs \(parameter): the form is \(function.usage)")
        }
    }

    /// `TEXT: problem` as the error to throw.
    func problem(_ sentence: String) -> NotebookError {
        MathError.invalid(expression: text, problem: sentence).notebookError
    }

    /// A matrix argument (a number is read as 1 × 1), and whether it was a number.
    func matrix(_ parameter: String) throws -> (Matrix, wasNumber: Bool) {
        guard let argument = bound[parameter] else { throw problem("\(function.name) needs \(parameter): the form is \(function.usage)") }
        if case .scalar = argument.value { return (argument.value.asMatrix, true) }
        return (argument.value.asMatrix, false)
    }

    /// Applies `f` to the matrix argument `A`; a number in gives a number out. The result, as
    /// large as `A`, is counted before it is made.
    func onMatrix(_ f: (Matrix) throws -> Matrix) throws -> MathValue {
        let (m, wasNumber) = try matrix("A")
        try evaluator.allocate(rows: m.rows, columns: m.columns, text: text)
        let out = try f(m)
        if wasNumber, out.rows == 1, out.columns == 1 { return .scalar(out.values[0]) }
        return .matrix(out)
    }

    /// Applies `f` to every cell of `A` (or to the number `A`).
    func onCells(_ f: (Float) -> Float) throws -> MathValue {
        guard let argument = bound["A"] else { throw problem("\(function.name) needs A: the form is \(function.usage)") }
        switch argument.value {
        case let .scalar(x): return .scalar(f(x))
        case let .matrix(m):
            try evaluator.allocate(rows: m.rows, columns: m.columns, text: text)
            return .matrix(m.map(f))
        }
    }

    /// A reduction over all cells (a number), down the columns (`axis=0`, 1 × n) or along the rows
    /// (`axis=1`, m × 1). `needsValues`: max, min and argmax of nothing have no answer (an error, as
    /// in NumPy); sum of nothing is 0 and mean of nothing nan.
    func reduce(needsValues: Bool, _ f: ([Float]) -> Float) throws -> MathValue {
        let (m, _) = try matrix("A")
        let axis = try self.axis()
        let length = axis == nil ? m.values.count : (axis == 0 ? m.rows : m.columns)
        let results = axis == nil ? 1 : (axis == 0 ? m.columns : m.rows)
        if needsValues && length == 0 && results > 0 {
            throw problem("\(m.shapeDescription) has no cells to take the \(function.name) of")
        }
        switch axis {
        case nil: return .scalar(f(m.values))
        case 0: return .matrix(Matrix(rows: 1, columns: m.columns, values: (0..<m.columns).map { f(m.column($0)) }))
        default: return .matrix(Matrix(rows: m.rows, columns: 1, values: (0..<m.rows).map { f(m.row($0)) }))
        }
    }

    /// `axis`: 0 (down each column) or 1 (along each row); -1 and -2 count from the end as in
    /// NumPy. `nil` when not given.
    func axis() throws -> Int? {
        guard let axis = try wholeNumber("axis") else { return nil }
        guard (-2...1).contains(axis) else {
            throw problem("axis must be 0 (down each column) or 1 (along each row), not \(axis)")
        }
        return axis < 0 ? axis + 2 : axis
    }

    /// A whole-number argument, or `nil` when not given.
    func wholeNumber(_ parameter: String) throws -> Int? {
        guard let argument = bound[parameter] else { return nil }
        return try MathEvaluator.wholeNumber(argument.value, role: parameter, text: text)
    }

    /// A number argument (a number, or a 1 × 1 matrix), or `nil` when not given.
    func number(_ parameter: String) throws -> Float? {
        guard let argument = bound[parameter] else { return nil }
        let m = argument.value.asMatrix
        guard m.rows == 1, m.columns == 1 else {
            throw problem("\(parameter) must be a number, not a \(m.shapeDescription) matrix")
        }
        return m.values[0]
    }

    /// A size: a whole number, at least 0.
    func size(_ parameter: String) throws -> Int {
        guard let n = try wholeNumber(parameter) else { throw problem("\(function.name) needs \(parameter): the form is \(function.usage)") }
        guard n >= 0 else { throw problem("\(parameter) must be 0 or more, not \(n)") }
        return n
    }
}
