import AttnCore
import Foundation
import Notebook
import Testing

// The learner's math: parsing, evaluation, errors and `check`. Every expected value is computed
// here with plain loops in Double, never with the library's own functions.

// MARK: Fixtures and helpers

/// Small hand-made matrices.
enum Fixture {
    static let a: [[Double]] = [[1, 2, 3], [4, 5, 6]]                 // 2 × 3
    static let b: [[Double]] = [[1, -1], [0, 2], [3, 1]]              // 3 × 2
    static let c: [[Double]] = [[0.5, -1.5, 2], [3, 0, -2]]           // 2 × 3
    static let d: [[Double]] = [[2, 0], [1, -1]]                      // 2 × 2
    static let row: [[Double]] = [[10, 20, 30]]                       // 1 × 3
    static let column: [[Double]] = [[100], [200]]                    // 2 × 1
    // One head of attention: T = 4 tokens, dₕ = 3.
    static let q: [[Double]] = [[0.1, 0.2, -0.3], [0.5, -0.1, 0.0], [-0.2, 0.4, 0.6], [0.3, 0.3, 0.3]]
    static let k: [[Double]] = [[0.2, -0.1, 0.4], [0.0, 0.3, -0.2], [0.6, 0.1, 0.1], [-0.4, 0.2, 0.5]]
    static let v: [[Double]] = [[1, 0], [0, 1], [0.5, 0.5], [-1, 2]]

    static func matrix(_ rows: [[Double]]) -> MathValue { .matrix(Matrix(rows.map { $0.map(Float.init) })) }

    static let names: [String: MathValue] = [
        "A": matrix(a), "B": matrix(b), "C": matrix(c), "D": matrix(d), "r": matrix(row), "c": matrix(column),
        "F": .matrix(Matrix(rows: 4, columns: 5)),
        "Q": matrix(q), "K": matrix(k), "V": matrix(v), "dk": .scalar(3), "T": .scalar(4), "s": .scalar(2),
    ]

    /// Names shaped like one head of MiniLM on an 8-token sentence.
    static let session: [String: MathValue] = [
        "X": .matrix(Matrix(rows: 8, columns: 384)), "Q": .matrix(Matrix(rows: 8, columns: 32)),
        "K": .matrix(Matrix(rows: 8, columns: 32)), "V": .matrix(Matrix(rows: 8, columns: 32)),
        "W_Q": .matrix(Matrix(rows: 384, columns: 32)), "b_Q": .matrix(Matrix(rows: 1, columns: 32)),
        "scores": .matrix(Matrix(rows: 8, columns: 8)), "weights": .matrix(Matrix(rows: 8, columns: 8)),
        "Z": .matrix(Matrix(rows: 8, columns: 32)), "dk": .scalar(32), "T": .scalar(8),
    ]
}

/// Parses and evaluates one line over `names`.
func evaluate(_ line: String, _ names: [String: MathValue] = Fixture.names) throws -> MathValue {
    switch try MathParser.parse(line) {
    case let .evaluate(expression), let .assign(_, expression):
        return try MathEvaluator(names: names).evaluate(expression)
    }
}

/// The error sentence of a line that must fail (parsing or evaluating).
func mathError(_ line: String, _ names: [String: MathValue] = Fixture.names) -> String? {
    do {
        _ = try evaluate(line, names)
        return nil
    } catch {
        return "\(error)"
    }
}

/// The expression of a line that is not an assignment.
func expression(_ line: String) throws -> MathExpression {
    guard case let .evaluate(e) = try MathParser.parse(line) else { throw NotebookError.math("not an expression") }
    return e
}

/// The tree as an S-expression, to see precedence: `(+ (@ (- (T A)) D) 1)`.
func tree(_ e: MathExpression) -> String {
    switch e {
    case let .number(_, text): return String(text)
    case let .name(name): return name
    case let .negate(x, _): return "(neg \(tree(x)))"
    case let .binary(op, l, r, _): return "(\(op.rawValue) \(tree(l)) \(tree(r)))"
    case let .transpose(x, _): return "(T \(tree(x)))"
    case let .index(x, subscripts, _):
        let parts = subscripts.map { index -> String in
            switch index {
            case let .position(p): return tree(p)
            case let .range(s, e): return (s.map(tree) ?? "") + ":" + (e.map(tree) ?? "")
            }
        }
        return "(index \(tree(x)) \(parts.joined(separator: " ")))"
    case let .call(name, arguments, _):
        return "(\(name) " + arguments.map { ($0.keyword.map { $0 + "=" } ?? "") + tree($0.value) }.joined(separator: " ") + ")"
    case let .parenthesized(x, _): return tree(x)
    case let .literal(rows, _): return "[" + rows.map { $0.map(tree).joined(separator: " ") }.joined(separator: "; ") + "]"
    }
}

/// Expects a matrix value of `expected`'s shape whose cells are within `tolerance` (relative for large values).
func expectMatrix(_ value: MathValue, _ expected: [[Double]], tolerance: Double = 1e-5,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    guard case let .matrix(m) = value else {
        Issue.record("expected a matrix, got \(value)", sourceLocation: sourceLocation)
        return
    }
    let rows = expected.count, columns = expected.first?.count ?? 0
    #expect(m.rows == rows && m.columns == columns, "shape \(m.shapeDescription), expected [\(rows) × \(columns)]", sourceLocation: sourceLocation)
    guard m.rows == rows && m.columns == columns else { return }
    for i in 0..<rows {
        for j in 0..<columns {
            let x = Double(m[i, j]), y = expected[i][j]
            if x == y || (x.isNaN && y.isNaN) { continue }
            #expect(abs(x - y) <= tolerance * max(1, abs(y)), "[\(i), \(j)]: \(x) vs \(y)", sourceLocation: sourceLocation)
        }
    }
}

func expectScalar(_ value: MathValue, _ expected: Double, tolerance: Double = 1e-5,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    guard case let .scalar(x) = value else {
        Issue.record("expected a number, got \(value)", sourceLocation: sourceLocation)
        return
    }
    if Double(x) == expected || (x.isNaN && expected.isNaN) { return }
    #expect(abs(Double(x) - expected) <= tolerance * max(1, abs(expected)), "\(x) vs \(expected)", sourceLocation: sourceLocation)
}

/// Plain loops, for expected values.
enum Plain {
    static func map(_ a: [[Double]], _ f: (Double) -> Double) -> [[Double]] { a.map { $0.map(f) } }
    static func zip(_ a: [[Double]], _ b: [[Double]], _ f: (Double, Double) -> Double) -> [[Double]] {
        var out = a
        for i in 0..<a.count { for j in 0..<a[0].count { out[i][j] = f(a[i][j], b[i][j]) } }
        return out
    }
    static func product(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        var out = [[Double]](repeating: [Double](repeating: 0, count: b[0].count), count: a.count)
        for i in 0..<a.count {
            for j in 0..<b[0].count {
                for k in 0..<b.count { out[i][j] += a[i][k] * b[k][j] }
            }
        }
        return out
    }
    static func transpose(_ a: [[Double]]) -> [[Double]] {
        (0..<a[0].count).map { j in (0..<a.count).map { i in a[i][j] } }
    }
    static func softmaxRows(_ a: [[Double]]) -> [[Double]] {
        a.map { row in
            let top = row.max() ?? 0
            let e = row.map { Foundation.exp($0 - top) }
            let total = e.reduce(0, +)
            return e.map { $0 / total }
        }
    }
}

// MARK: Parsing and precedence

@Suite("Math: parsing and precedence")
struct MathParsingTests {
    @Test("precedence follows Python: postfix, then **, then unary minus, then @ * /, then + -")
    func precedence() throws {
        #expect(tree(try expression("-A.T @ D + 1")) == "(+ (@ (neg (T A)) D) 1)")
        #expect(tree(try expression("2 * 3 ** 2")) == "(* 2 (** 3 2))")
        #expect(tree(try expression("-2 ** 2")) == "(neg (** 2 2))")
        #expect(tree(try expression("2 ** -1")) == "(** 2 (neg 1))")
        #expect(tree(try expression("2 ** 3 ** 2")) == "(** 2 (** 3 2))")
        #expect(tree(try expression("10 - 4 - 3")) == "(- (- 10 4) 3)")
        #expect(tree(try expression("Q @ K.T / sqrt(dk)")) == "(/ (@ Q (T K)) (sqrt dk))")
        #expect(tree(try expression("A[0].T")) == "(T (index A 0))")
        #expect(tree(try expression("(A + B).T[1:, :-1]")) == "(index (T (+ A B)) 1: :(neg 1))")
        #expect(tree(try expression("softmax(S - max(S, axis=1), axis=-1)")) == "(softmax (- S (max S axis=1)) axis=(neg 1))")
        #expect(tree(try expression("A @ B * 2 @ C")) == "(@ (* (@ A B) 2) C)")
    }

    @Test("precedence gives the values Python gives")
    func precedenceValues() throws {
        expectScalar(try evaluate("2 * 3 ** 2"), 18)
        expectScalar(try evaluate("-2 ** 2"), -4)
        expectScalar(try evaluate("2 ** -1"), 0.5)
        expectScalar(try evaluate("2 ** 3 ** 2"), 512)
        expectScalar(try evaluate("10 - 4 - 3"), 3)
        expectScalar(try evaluate("8 / 2 / 2"), 2)
        expectScalar(try evaluate("1 + 2 * 3 - 4 / 2"), 5)
        expectScalar(try evaluate("(1 + 2) * 3"), 9)
        expectScalar(try evaluate("--3"), 3)
        expectScalar(try evaluate("+3 - -2"), 5)
        // -A.T @ D + 1 = ((−Aᵀ) · D) + 1
        let expected = Plain.map(Plain.product(Plain.map(Plain.transpose(Fixture.a)) { -$0 }, Fixture.d)) { $0 + 1 }
        expectMatrix(try evaluate("-A.T @ D + 1"), expected)
    }

    @Test("number literals: 1, 0.5, 1e-3, .5, 1., 2.5E+2, inf, -inf")
    func numbers() throws {
        expectScalar(try evaluate("1"), 1)
        expectScalar(try evaluate("0.5"), 0.5)
        expectScalar(try evaluate("1e-3"), 0.001)
        expectScalar(try evaluate(".5"), 0.5)
        expectScalar(try evaluate("1."), 1)
        expectScalar(try evaluate("2.5E+2"), 250)
        expectScalar(try evaluate("inf"), .infinity)
        expectScalar(try evaluate("-inf"), -.infinity)
        // Beyond Float: an error, where NumPy's float32 would be a silent infinity (inf says it).
        #expect(throws: NotebookError.math("syntax error at column 1 in '1e999': '1e999' is beyond the numbers the math holds (±3.4e38); write inf for infinity")) {
            try evaluate("1e999")
        }
    }

    @Test("statements: NAME = EXPR is an assignment, anything else an expression; # starts a comment")
    func statements() throws {
        #expect(try MathParser.parse("Z = weights @ V") ==
                .assign("Z", .binary(.matrixProduct, .name("weights"), .name("V"), text: "weights @ V")))
        #expect(try MathParser.parse("  W_2 = 1  # one ") == .assign("W_2", .number(1, text: "1")))
        #expect(try MathParser.parse("weights") == .evaluate(.name("weights")))
        #expect(try MathParser.parse("softmax(S, axis=0)") ==
                .evaluate(.call("softmax", [MathArgument(value: .name("S")), MathArgument(keyword: "axis", value: .number(0, text: "0"))],
                                text: "softmax(S, axis=0)")))
        guard case let .assign(_, e) = try MathParser.parse("S = (Q @ K.T) / sqrt(dk)") else {
            Issue.record("not an assignment")
            return
        }
        #expect(e.text == "(Q @ K.T) / sqrt(dk)")
        guard case let .binary(.divide, left, right, _) = e else {
            Issue.record("not a division")
            return
        }
        #expect(left.text == "(Q @ K.T)" && right.text == "sqrt(dk)")
    }

    @Test("names are case-sensitive identifiers")
    func caseSensitive() throws {
        let names: [String: MathValue] = ["q": .scalar(1), "Q": .scalar(2), "_x9": .scalar(3)]
        expectScalar(try evaluate("q + 10 * Q + 100 * _x9", names), 321)
    }
}

// MARK: Operators and broadcasting

@Suite("Math: operators and broadcasting")
struct MathOperatorTests {
    @Test("+ - * / ** cell by cell on equal shapes")
    func elementwise() throws {
        expectMatrix(try evaluate("A + C"), Plain.zip(Fixture.a, Fixture.c, +))
        expectMatrix(try evaluate("A - C"), Plain.zip(Fixture.a, Fixture.c, -))
        expectMatrix(try evaluate("A * C"), Plain.zip(Fixture.a, Fixture.c, *))
        expectMatrix(try evaluate("A / C"), Plain.zip(Fixture.a, Fixture.c, /))
        expectMatrix(try evaluate("A ** 2"), Plain.map(Fixture.a) { $0 * $0 })
        expectMatrix(try evaluate("2 ** A"), Plain.map(Fixture.a) { Foundation.pow(2, $0) })
        expectMatrix(try evaluate("-A"), Plain.map(Fixture.a) { -$0 })
    }

    @Test("numbers broadcast on either side")
    func scalars() throws {
        expectMatrix(try evaluate("A + 1"), Plain.map(Fixture.a) { $0 + 1 })
        expectMatrix(try evaluate("1 - A"), Plain.map(Fixture.a) { 1 - $0 })
        expectMatrix(try evaluate("s * A"), Plain.map(Fixture.a) { 2 * $0 })
        expectMatrix(try evaluate("A / s"), Plain.map(Fixture.a) { $0 / 2 })
        expectMatrix(try evaluate("12 / A"), Plain.map(Fixture.a) { 12 / $0 })
        expectScalar(try evaluate("dk * T - s"), 10)
    }

    @Test("rows (1 × n), columns (m × 1) and 1 × 1 broadcast as in NumPy")
    func rowsAndColumns() throws {
        let rowAdded = (0..<2).map { i in (0..<3).map { j in Fixture.a[i][j] + Fixture.row[0][j] } }
        expectMatrix(try evaluate("A + r"), rowAdded)
        expectMatrix(try evaluate("r + A"), rowAdded)
        let columnSubtracted = (0..<2).map { i in (0..<3).map { j in Fixture.a[i][j] - Fixture.column[i][0] } }
        expectMatrix(try evaluate("A - c"), columnSubtracted)
        // An m × 1 column times a 1 × n row is their outer product.
        let outer = (0..<2).map { i in (0..<3).map { j in Fixture.column[i][0] * Fixture.row[0][j] } }
        expectMatrix(try evaluate("c * r"), outer)
        expectMatrix(try evaluate("A * A[0:1, 0:1]"), Plain.map(Fixture.a) { $0 * 1 })
    }

    @Test("@ is the matrix product, with or without .T on the right")
    func matrixProduct() throws {
        expectMatrix(try evaluate("A @ B"), Plain.product(Fixture.a, Fixture.b))
        expectMatrix(try evaluate("B @ A"), Plain.product(Fixture.b, Fixture.a))
        expectMatrix(try evaluate("A @ C.T"), Plain.product(Fixture.a, Plain.transpose(Fixture.c)))
        expectMatrix(try evaluate("A.T @ C"), Plain.product(Plain.transpose(Fixture.a), Fixture.c))
        expectMatrix(try evaluate("A @ (B @ D)"), Plain.product(Fixture.a, Plain.product(Fixture.b, Fixture.d)))
        expectMatrix(try evaluate("A.T"), Plain.transpose(Fixture.a))
        expectMatrix(try evaluate("A.T.T"), Fixture.a)
        expectScalar(try evaluate("s.T"), 2)
    }

    @Test("S - max(S, axis=1) subtracts each row's max")
    func rowMax() throws {
        let s = Plain.product(Fixture.q, Plain.transpose(Fixture.k))
        let expected = s.map { row in row.map { $0 - row.max()! } }
        expectMatrix(try evaluate("Q @ K.T - max(Q @ K.T, axis=1)"), expected)
    }

    @Test("division by zero gives inf and nan as NumPy; no crash")
    func divisionByZero() throws {
        expectScalar(try evaluate("1 / 0"), .infinity)
        expectScalar(try evaluate("-1 / 0"), -.infinity)
        expectScalar(try evaluate("0 / 0"), .nan)
        expectScalar(try evaluate("log(-1)"), .nan)
        expectScalar(try evaluate("inf - inf"), .nan)
        expectMatrix(try evaluate("A / 0"), Plain.map(Fixture.a) { _ in .infinity })
    }
}

// MARK: Slices

@Suite("Math: slices")
struct MathSliceTests {
    @Test("rows, columns, ranges and single cells as in NumPy, keeping two axes")
    func slices() throws {
        let a = Fixture.a
        expectMatrix(try evaluate("A[0:1, :]"), [a[0]])
        expectMatrix(try evaluate("A[1, :]"), [a[1]])
        expectMatrix(try evaluate("A[1]"), [a[1]])
        expectMatrix(try evaluate("A[:, 1]"), [[a[0][1]], [a[1][1]]])
        expectMatrix(try evaluate("A[:, 1:]"), [[2, 3], [5, 6]])
        expectMatrix(try evaluate("A[:, :-1]"), [[1, 2], [4, 5]])
        expectMatrix(try evaluate("A[1:]"), [a[1]])
        expectMatrix(try evaluate("A[:-1]"), [a[0]])
        expectMatrix(try evaluate("A[-1]"), [a[1]])
        expectMatrix(try evaluate("A[:, -1]"), [[3], [6]])
        expectMatrix(try evaluate("A[:, -2:]"), [[2, 3], [5, 6]])
        expectMatrix(try evaluate("A[:]"), a)
        expectMatrix(try evaluate("A[0:2, 0:3]"), a)
        expectMatrix(try evaluate("Q[T - 1]"), [Fixture.q[3]])
        expectScalar(try evaluate("A[1, 2]"), 6)
        expectScalar(try evaluate("A[-1, -3]"), 4)
        expectScalar(try evaluate("A.T[2, 1]"), 6)
    }

    @Test("slices are clamped like NumPy's: too far is all, backwards is empty")
    func clamped() throws {
        expectMatrix(try evaluate("A[0:100]"), Fixture.a)
        expectMatrix(try evaluate("A[-100:1]"), [Fixture.a[0]])
        guard case let .matrix(empty) = try evaluate("A[2:1]") else {
            Issue.record("not a matrix")
            return
        }
        #expect(empty.rows == 0 && empty.columns == 3)
    }

    @Test("an index out of range names the shape")
    func outOfRange() {
        #expect(mathError("A[2]") == "A[2]: row 2 is out of range for [2 × 3]: the rows are 0…1")
        #expect(mathError("A[:, 3]") == "A[:, 3]: column 3 is out of range for [2 × 3]: the columns are 0…2")
        #expect(mathError("A[-3]") == "A[-3]: row -3 is out of range for [2 × 3]: the rows are 0…1 (or -2…-1 from the end)")
        #expect(mathError("A[1, 1e20]") == "A[1, 1e20]: column 1e+20 is out of range for [2 × 3]: the columns are 0…2")
        #expect(mathError("A[2:1][0]") == "A[2:1][0]: [0 × 3] has no rows")
        #expect(mathError("A[0.5]") == "A[0.5]: a row index must be a whole number, not 0.5")
        #expect(mathError("A[r]") == "A[r]: a row index must be a number, not a [1 × 3] matrix")
        #expect(mathError("A[0, 0, 0]") == "A[0, 0, 0]: a matrix has two axes, so give at most two indices: A[rows, columns]")
        #expect(mathError("dk[0]") == "dk[0]: dk is a number, which has no rows or columns to index")
    }
}

// MARK: Functions

@Suite("Math: functions")
struct MathFunctionTests {
    @Test("softmax by rows (the default, axis=1 and axis=-1) and by columns (axis=0)")
    func softmax() throws {
        let byRows = Plain.softmaxRows(Fixture.c)
        expectMatrix(try evaluate("softmax(C)"), byRows)
        expectMatrix(try evaluate("softmax(C, axis=1)"), byRows)
        expectMatrix(try evaluate("softmax(C, -1)"), byRows)
        expectMatrix(try evaluate("softmax(C, axis=0)"), Plain.transpose(Plain.softmaxRows(Plain.transpose(Fixture.c))))
        // Large values do not overflow: the row max is subtracted first.
        expectMatrix(try evaluate("softmax(A * 1000)"), Plain.softmaxRows(Plain.map(Fixture.a) { $0 * 1000 }))
        expectScalar(try evaluate("softmax(3)"), 1)
    }

    @Test("the issue's example: softmax(Q @ K.T / sqrt(dk)) is the hand-computed attention")
    func attentionExample() throws {
        // scores[i][j] = Σ_d q[i][d]·k[j][d] / √dk, then a softmax over each row
        var scores = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 4)
        for i in 0..<4 {
            for j in 0..<4 {
                var dot = 0.0
                for d in 0..<3 { dot += Fixture.q[i][d] * Fixture.k[j][d] }
                scores[i][j] = dot / 3.0.squareRoot()
            }
        }
        var weights = scores
        for i in 0..<4 {
            let top = scores[i].max()!
            var total = 0.0
            for j in 0..<4 {
                weights[i][j] = Foundation.exp(scores[i][j] - top)
                total += weights[i][j]
            }
            for j in 0..<4 { weights[i][j] /= total }
        }
        expectMatrix(try evaluate("softmax(Q @ K.T / sqrt(dk))"), weights, tolerance: 1e-6)
        // The same written as the lessons do it, step by step with the row max.
        expectMatrix(try evaluate("exp(Q @ K.T / sqrt(dk) - max(Q @ K.T / sqrt(dk), axis=1)) / sum(exp(Q @ K.T / sqrt(dk) - max(Q @ K.T / sqrt(dk), axis=1)), axis=1)"),
                     weights, tolerance: 1e-6)
        var z = [[Double]](repeating: [0, 0], count: 4)
        for i in 0..<4 { for j in 0..<4 { for e in 0..<2 { z[i][e] += weights[i][j] * Fixture.v[j][e] } } }
        expectMatrix(try evaluate("softmax(Q @ K.T / sqrt(dk)) @ V"), z, tolerance: 1e-6)
    }

    @Test("a causal mask: triu(ones(T, T), 1) * -1e9, and -inf cells become exactly 0")
    func mask() throws {
        guard case let .matrix(w) = try evaluate("softmax(Q @ K.T + triu(ones(T, T), 1) * -1e9)") else {
            Issue.record("not a matrix")
            return
        }
        for i in 0..<4 {
            for j in 0..<4 where j > i { #expect(w[i, j] == 0) }
            #expect(abs((0..<4).reduce(Float(0)) { $0 + w[i, $1] } - 1) < 1e-6)
        }
        var names = Fixture.names
        names["M"] = .matrix(Matrix([[0, -.infinity], [0, 0]]))
        expectMatrix(try evaluate("softmax(D + M)", names), [[1, 0], Plain.softmaxRows([Fixture.d[1]])[0]])
        expectMatrix(try evaluate("softmax(D * 0 - inf)"), [[0, 0], [0, 0]])  // a fully masked row stays 0, as in the model
    }

    @Test("exp, log, sqrt, abs, tanh, gelu cell by cell")
    func cellFunctions() throws {
        expectMatrix(try evaluate("exp(C)"), Plain.map(Fixture.c) { Foundation.exp($0) })
        expectMatrix(try evaluate("log(A)"), Plain.map(Fixture.a) { Foundation.log($0) })
        expectMatrix(try evaluate("sqrt(A)"), Plain.map(Fixture.a) { $0.squareRoot() })
        expectMatrix(try evaluate("abs(C)"), Plain.map(Fixture.c) { Swift.abs($0) })
        expectMatrix(try evaluate("tanh(C)"), Plain.map(Fixture.c) { Foundation.tanh($0) })
        expectMatrix(try evaluate("gelu(C)"), Plain.map(Fixture.c) { $0 * 0.5 * (1 + Foundation.erf($0 / 2.0.squareRoot())) })
        expectScalar(try evaluate("sqrt(dk)"), 3.0.squareRoot())
        expectScalar(try evaluate("exp(1)"), M_E)
    }

    @Test("max, min, sum, mean, var, std: no axis is a number, axis=0 is 1 × n, axis=1 is m × 1")
    func reductions() throws {
        let c = Fixture.c, cells = c.flatMap { $0 }
        func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
        func variance(_ x: [Double]) -> Double { let m = mean(x); return x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count) }
        let columns = (0..<3).map { j in c.map { $0[j] } }
        let reductions: [(String, ([Double]) -> Double)] = [
            ("max", { $0.max()! }), ("min", { $0.min()! }), ("sum", { $0.reduce(0, +) }), ("mean", mean),
            ("var", variance), ("std", { variance($0).squareRoot() }),
        ]
        for (name, f) in reductions {
            expectScalar(try evaluate("\(name)(C)"), f(cells))
            expectMatrix(try evaluate("\(name)(C, axis=0)"), [columns.map(f)])
            expectMatrix(try evaluate("\(name)(C, axis=1)"), c.map { [f($0)] })
            expectMatrix(try evaluate("\(name)(C, 1)"), c.map { [f($0)] })
        }
        expectScalar(try evaluate("sum(A[2:1])"), 0)
        expectScalar(try evaluate("mean(A[2:1])"), .nan)
        #expect(mathError("max(A[2:1])") == "max(A[2:1]): [0 × 3] has no cells to take the max of")
    }

    @Test("argmax: each row's column (axis=1), each column's row (axis=0), or the flat index")
    func argmax() throws {
        // C = [[0.5, -1.5, 2], [3, 0, -2]]
        expectMatrix(try evaluate("argmax(C, axis=1)"), [[2], [0]])
        expectMatrix(try evaluate("argmax(C, axis=0)"), [[1, 1, 0]])
        expectScalar(try evaluate("argmax(C)"), 3)
        expectMatrix(try evaluate("argmax(ones(2, 3), axis=1)"), [[0], [0]])  // the first of equals
    }

    @Test("layernorm: each row to mean 0 and variance 1 (ε = 1e-12), optionally · γ + β")
    func layerNorm() throws {
        func normalized(_ row: [Double]) -> [Double] {
            let mean = row.reduce(0, +) / Double(row.count)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(row.count)
            return row.map { ($0 - mean) / (variance + 1e-12).squareRoot() }
        }
        expectMatrix(try evaluate("layernorm(C)"), Fixture.c.map(normalized))
        let gamma = [2.0, 0.5, -1.0], beta = [10.0, 20.0, 30.0]
        var names = Fixture.names
        names["g"] = Fixture.matrix([gamma])
        expectMatrix(try evaluate("layernorm(C, g, r)", names),
                     Fixture.c.map { row in zip(normalized(row), zip(gamma, beta)).map { $0 * $1.0 + $1.1 } })
        #expect(mathError("layernorm(C, r)") == "layernorm(C, r): give both gamma and beta, or neither: the form is layernorm(A[, gamma, beta])")
        #expect(mathError("layernorm(C, c, r)") == "layernorm(C, c, r): gamma must be a [1 × 3] row to match A, not [2 × 1]")
    }

    @Test("transpose, zeros, ones, eye, triu, tril, concat")
    func builders() throws {
        expectMatrix(try evaluate("transpose(A)"), Plain.transpose(Fixture.a))
        expectMatrix(try evaluate("zeros(2, 3)"), [[0, 0, 0], [0, 0, 0]])
        expectMatrix(try evaluate("ones(T - 2, 1)"), [[1], [1]])
        expectMatrix(try evaluate("eye(3)"), [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        let square: [[Double]] = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
        var names = Fixture.names
        names["S"] = Fixture.matrix(square)
        func keep(_ f: (Int, Int) -> Bool) -> [[Double]] { (0..<3).map { i in (0..<3).map { j in f(i, j) ? square[i][j] : 0 } } }
        expectMatrix(try evaluate("triu(S)", names), keep { i, j in j >= i })
        expectMatrix(try evaluate("triu(S, 1)", names), keep { i, j in j >= i + 1 })
        expectMatrix(try evaluate("triu(S, k=-1)", names), keep { i, j in j >= i - 1 })
        expectMatrix(try evaluate("tril(S)", names), keep { i, j in j <= i })
        expectMatrix(try evaluate("tril(S, -1)", names), keep { i, j in j <= i - 1 })
        expectMatrix(try evaluate("tril(ones(3, 3))", names), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
        expectMatrix(try evaluate("concat(A, c, C)"), (0..<2).map { Fixture.a[$0] + Fixture.column[$0] + Fixture.c[$0] })
        expectMatrix(try evaluate("concat(A)"), Fixture.a)
    }

    @Test("every function in the help table can be called, and the help lists it")
    func everyFunction() throws {
        let help = MathSyntax.help
        for function in MathSyntax.functionTable {
            let call: String
            switch function.name {
            case "zeros", "ones": call = "\(function.name)(2, 2)"
            case "eye", "arange": call = "\(function.name)(2)"
            case "head": call = "head(D, 1)"
            case "heads": call = "concat(heads(D))"
            default: call = "\(function.name)(D)"
            }
            // Two heads with the same names, as a session binds them for head and heads.
            var evaluator = MathEvaluator(names: Fixture.names)
            (evaluator.headCount, evaluator.namesAtHead) = (2, { _ in Fixture.names })
            guard case let .evaluate(expression) = try MathParser.parse(call) else { continue }
            #expect(throws: Never.self, "\(call)") { try evaluator.evaluate(expression) }
            #expect(help.contains(function.usage) && help.contains(function.summary))
        }
        #expect(MathSyntax.functions == MathSyntax.functionTable.map(\.name))
    }

    @Test("wrong arguments are named with the function's form")
    func argumentErrors() {
        #expect(mathError("softmax()") == "softmax(): softmax needs A: the form is softmax(A[, axis])")
        #expect(mathError("exp(A, B)") == "exp(A, B): too many arguments: the form is exp(A)")
        #expect(mathError("softmax(Q, dim=1)") == "softmax(Q, dim=1): softmax has no argument 'dim' (NumPy calls it axis): the form is softmax(A[, axis])")
        #expect(mathError("softmax(Q, 1, axis=1)") == "softmax(Q, 1, axis=1): axis is given twice")
        #expect(mathError("sum(A, axis=2)") == "sum(A, axis=2): axis must be 0 (down each column) or 1 (along each row), not 2")
        #expect(mathError("max(A, B)") == "max(A, B): axis must be a number, not a [3 × 2] matrix")
        #expect(mathError("zeros(-1, 2)") == "zeros(-1, 2): m must be 0 or more, not -1")
        #expect(mathError("zeros(2.5, 2)") == "zeros(2.5, 2): m must be a whole number, not 2.5")
        #expect(mathError("zeros(100000, 100000)") == "zeros(100000, 100000): the result would be [100000 × 100000], 38146.98 MB; a matrix holds at most 64 MB (16777216 numbers): make it smaller, or take a slice")
        #expect(mathError("ones(1e12, 1e12)") != nil)
        #expect(mathError("concat(A, B)") == "concat(A, B): A has 2 rows and B has 3: concat needs the same number of rows")
        #expect(mathError("concat(A, 1)") == "concat(A, 1): concat joins matrices, and 1 is a number")
        #expect(mathError("concat()") == "concat(): concat needs at least one matrix: the form is concat(A, B, …)")
        #expect(mathError("softmax(axis=1)") == "softmax(axis=1): softmax needs A: the form is softmax(A[, axis])")
    }
}

// MARK: Errors

@Suite("Math: errors point at the problem")
struct MathErrorTests {
    @Test("@ with inner sizes that differ suggests the transpose that fits")
    func innerSizes() {
        #expect(mathError("Q @ K", Fixture.session) == "Q @ K: [8 × 32] @ [8 × 32]: inner sizes 32 and 8 differ — did you mean K.T?")
        #expect(mathError("softmax(Q @ K / sqrt(dk))", Fixture.session) == "Q @ K: [8 × 32] @ [8 × 32]: inner sizes 32 and 8 differ — did you mean K.T?")
        #expect(mathError("Q @ (K + 1)", Fixture.session) == "Q @ (K + 1): [8 × 32] @ [8 × 32]: inner sizes 32 and 8 differ — did you mean (K + 1).T?")
        #expect(mathError("Q @ -K", Fixture.session) == "Q @ -K: [8 × 32] @ [8 × 32]: inner sizes 32 and 8 differ — did you mean (-K).T?")
        #expect(mathError("Q @ K.T.T", Fixture.session) == "Q @ K.T.T: [8 × 32] @ [8 × 32]: inner sizes 32 and 8 differ — did you mean K.T?")
        #expect(mathError("X @ W_Q.T", Fixture.session) == "X @ W_Q.T: [8 × 384] @ [32 × 384]: inner sizes 384 and 32 differ — did you mean W_Q?")
        #expect(mathError("X @ Q.T", Fixture.session) == "X @ Q.T: [8 × 384] @ [32 × 8]: inner sizes 384 and 32 differ")
        #expect(mathError("B @ Q") == "B @ Q: [3 × 2] @ [4 × 3]: inner sizes 2 and 4 differ")
        // Only the left operand's transpose fits: [3 × 2] and [3 × 4].
        var names = Fixture.names
        names["Y"] = .matrix(Matrix(rows: 3, columns: 4))
        #expect(mathError("B @ Y", names) == "B @ Y: [3 × 2] @ [3 × 4]: inner sizes 2 and 3 differ — did you mean B.T?")
        #expect(mathError("2 @ Q") == "2 @ Q: @ multiplies two matrices, but 2 is a number: use * to scale")
        #expect(mathError("Q @ dk") == "Q @ dk: @ multiplies two matrices, but dk is a number: use * to scale")
    }

    @Test("element-wise shapes that do not broadcast")
    func broadcast() {
        #expect(mathError("Q + scores", Fixture.session) == "Q + scores: shapes [8 × 32] and [8 × 8] do not broadcast")
        #expect(mathError("A * B") == "A * B: shapes [2 × 3] and [3 × 2] do not broadcast")
        #expect(mathError("A - r.T") == "A - r.T: shapes [2 × 3] and [3 × 1] do not broadcast")
    }

    @Test("unknown names suggest the closest bound name")
    func unknownNames() {
        #expect(mathError("Qs @ K.T", Fixture.session) == "unknown name 'Qs': did you mean 'Q'?")
        #expect(mathError("q @ K.T", Fixture.session) == "unknown name 'q': did you mean 'Q'?")
        #expect(mathError("weigths", Fixture.session) == "unknown name 'weigths': did you mean 'weights'?")
        #expect(mathError("zebra", ["Q": .scalar(1), "K": .scalar(2)]) == "unknown name 'zebra': the names are K, Q")
        #expect(mathError("zebra", [:]) == "unknown name 'zebra': no names are bound yet")
        #expect(mathError("softmax + 1") == "softmax is a function: call it with parentheses, e.g. softmax(A)")
    }

    @Test("unknown functions suggest the closest function; a value is not a function")
    func unknownFunctions() {
        #expect(mathError("sofmax(Q)") == "unknown function 'sofmax': did you mean 'softmax'?")
        #expect(mathError("Softmax(Q)") == "unknown function 'Softmax': did you mean 'softmax'?")
        #expect(mathError("relu(Q)") == "unknown function 'relu': did you mean 'gelu'?")
        #expect(mathError("dot(Q, K)") == "unknown function 'dot': the functions are " + MathSyntax.functions.joined(separator: ", "))
        #expect(MathSyntax.functions.prefix(3) == ["softmax", "exp", "log"])
        #expect(mathError("Q(2)") == "'Q' is a value, not a function: for a product write Q @ (…) or Q * (…)")
    }

    @Test("syntax errors say where, counting columns from 1")
    func syntax() {
        #expect(mathError("Q @ (K") == "syntax error at column 7 in 'Q @ (K': expected ')'")
        #expect(mathError("Q @") == "syntax error at column 4 in 'Q @': expected a value after '@'")
        #expect(mathError("Q @ (K   # the keys") == "syntax error at column 7 in 'Q @ (K   # the keys': expected ')'")
        #expect(mathError("Q @ )") == "syntax error at column 5 in 'Q @ )': expected a value after '@'")
        #expect(mathError("Q K") == "syntax error at column 3 in 'Q K': unexpected 'K': an operator such as @, * or + is missing before it")
        #expect(mathError("Q)") == "syntax error at column 2 in 'Q)': unexpected ')': there is no '(' to close")
        #expect(mathError("softmax(Q") == "syntax error at column 10 in 'softmax(Q': expected ')'")
        #expect(mathError("softmax(Q]") == "syntax error at column 10 in 'softmax(Q]': expected ')' (to close the '(' at column 8), not ']'")
        #expect(mathError("A[0") == "syntax error at column 4 in 'A[0': expected ']'")
        #expect(mathError("A[]") == "syntax error at column 3 in 'A[]': expected an index such as 2, 0:3 or :")
        #expect(mathError("A[0:2:1]") == "syntax error at column 6 in 'A[0:2:1]': steps (a:b:step) are not supported: write a:b")
        #expect(mathError("Q.X") == "syntax error at column 2 in 'Q.X': '.X' is not known: the attributes are .T (the transpose) and .shape")
        #expect(mathError("2x = 3") == "syntax error at column 1 in '2x = 3': '2x' is not a name: names start with a letter or _, not a digit")
        #expect(mathError("1e + 2") == "syntax error at column 1 in '1e + 2': '1e' is not a number: an exponent needs digits, e.g. 1e-3")
        #expect(mathError("Q·K") == "syntax error at column 2 in 'Q·K': unexpected '·': write @ for the matrix product (or * for element-wise)")
        #expect(mathError("Kᵀ") == "syntax error at column 2 in 'Kᵀ': unexpected 'ᵀ': write .T for the transpose, e.g. K.T")
        #expect(mathError("A ^ 2") == "syntax error at column 3 in 'A ^ 2': unexpected '^': write ** for a power, e.g. A ** 2")
        #expect(mathError("A $ 2") == "syntax error at column 3 in 'A $ 2': unexpected '$': names use the letters A–Z and a–z, the digits 0–9 and _")
        #expect(mathError("") == "syntax error at column 1 in '': expected a value, such as Q @ K.T")
        #expect(mathError("()") == "syntax error at column 2 in '()': expected a value inside '()'")
        #expect(mathError("f(axis=1, A)") == "syntax error at column 11 in 'f(axis=1, A)': a plain argument cannot follow a named one such as axis=…")
        #expect(mathError("A > 0 > 1") == "syntax error at column 7 in 'A > 0 > 1': one comparison at a time: (A > 0) * (A < 1) for both")
        #expect(mathError("A <") == "syntax error at column 4 in 'A <': expected a value after '<'")
    }

    @Test("arange as NumPy's: a 1 × n row from start by step, below stop; cos and sin cell by cell")
    func arangeCosSin() throws {
        expectMatrix(try evaluate("arange(4)"), [[0, 1, 2, 3]])
        expectMatrix(try evaluate("arange(2, 5)"), [[2, 3, 4]])
        expectMatrix(try evaluate("arange(0, 1, 0.25)"), [[0, 0.25, 0.5, 0.75]])
        expectMatrix(try evaluate("arange(5, 0, -2)"), [[5, 3, 1]])
        expectMatrix(try evaluate("arange(0, 64, 2) / 64"), [(0..<32).map { Double($0 * 2) / 64 }])
        guard case let .matrix(empty) = try evaluate("arange(3, 1)") else { Issue.record("a matrix"); return }
        #expect(empty.rows == 1 && empty.columns == 0)
        #expect(mathError("arange(0, 1, 0)") == "arange(0, 1, 0): step must not be 0")
        #expect(mathError("arange(A)") == "arange(A): start must be a number, not a [2 × 3] matrix")
        #expect(mathError("arange()") == "arange(): arange needs start: the form is arange([start, ]stop[, step])")
        expectMatrix(try evaluate("cos(C)"), Plain.map(Fixture.c) { Foundation.cos($0) })
        expectMatrix(try evaluate("sin(C)"), Plain.map(Fixture.c) { Foundation.sin($0) })
        expectScalar(try evaluate("cos(0) + sin(0)"), 1)
    }

    @Test("a matrix written out: [[1, 2], [3, 4]] row by row, [1, 2, 3] one row; cells may be expressions")
    func literals() throws {
        expectMatrix(try evaluate("[[1, 2], [3, 4]]"), [[1, 2], [3, 4]])
        expectMatrix(try evaluate("[1, 2, 3]"), [[1, 2, 3]])
        expectMatrix(try evaluate("[[1, 2]].T"), [[1], [2]])
        expectMatrix(try evaluate("[-1, 2 ** 3, sqrt(4), dk]", ["dk": .scalar(32)]), [[-1, 8, 2, 32]])
        expectMatrix(try evaluate("[[1, 0], [0, 1]] @ A.T[0:2]"), [[1, 4], [2, 5]])
        #expect(mathError("[[1, 2], [3]]") == "[[1, 2], [3]]: row 1 has 1 and row 0 has 2 numbers: every row needs as many")
        #expect(mathError("[1, A]") == "[1, A]: A is [2 × 3]: each cell of [[…]] is one number")
        #expect(mathError("[]") == "syntax error at column 2 in '[]': expected a number inside '[]': write [1, 2, 3]")
        #expect(mathError("[[1, 2] [3, 4]]") == "syntax error at column 9 in '[[1, 2] [3, 4]]': expected ',' between rows: [[1, 2], [3, 4]]")
        #expect(mathError("[1, 2") == "syntax error at column 6 in '[1, 2': expected ']'")
        #expect(mathError("[1, ]") == "syntax error at column 5 in '[1, ]': expected a value after ','")
    }

    @Test("comparisons give 1 where they hold and 0 where not, with broadcasting, below + and - in precedence")
    func comparisons() throws {
        expectMatrix(try evaluate("C > 0"), Plain.map(Fixture.c) { $0 > 0 ? 1 : 0 })
        expectMatrix(try evaluate("C <= 0"), Plain.map(Fixture.c) { $0 <= 0 ? 1 : 0 })
        expectMatrix(try evaluate("A >= 3"), [[0, 0, 1], [1, 1, 1]])
        expectMatrix(try evaluate("A < r / 10"), [[0, 0, 0], [0, 0, 0]])
        expectMatrix(try evaluate("A == A.T.T"), [[1, 1, 1], [1, 1, 1]])
        expectMatrix(try evaluate("A != C"), [[1, 1, 1], [1, 1, 1]])
        expectMatrix(try evaluate("A - 1 > 2"), [[0, 0, 0], [1, 1, 1]])  // (A - 1) > 2
        expectScalar(try evaluate("mean(C > 0)"), 0.5)
        expectScalar(try evaluate("2 < 1"), 0)
        expectScalar(try evaluate("sum((A > 1) * (A < 6))"), 4)
    }

    @Test("assignment: only to a name, once, and never to a function or a number")
    func assignment() {
        #expect(mathError("softmax = Q") == "syntax error at column 1 in 'softmax = Q': cannot assign to 'softmax': it is the name of a function; choose another name")
        #expect(mathError("inf = 1") == "syntax error at column 1 in 'inf = 1': cannot assign to 'inf': it is a number; names start with a letter or _")
        #expect(mathError("Q[0] = 1") == "syntax error at column 6 in 'Q[0] = 1': only a name can be assigned: write NAME = EXPR")
        #expect(mathError("a = b = 1") == "syntax error at column 7 in 'a = b = 1': one '=' per line: write NAME = EXPR")
        #expect(mathError("S =") == "syntax error at column 4 in 'S =': expected a value after '='")
        #expect(MathSyntax.isName("W_Q") && MathSyntax.isName("_x") && !MathSyntax.isName("2x") && !MathSyntax.isName("exp") && !MathSyntax.isName(""))
    }

    @Test("deep nesting is capped with a clear error, not a stack overflow")
    func deepNesting() throws {
        let deep = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        let message = try #require(mathError(deep))
        #expect(message.hasPrefix("syntax error at column 101 in '…(((("))
        #expect(message.hasSuffix("': more than 100 levels of nesting: give an inner part a name first (A = …)"))
        for line in [String(repeating: "-", count: 500) + "1", "A" + String(repeating: ".T", count: 300),
                     Array(repeating: "2", count: 400).joined(separator: " ** "), String(repeating: "exp(", count: 200) + "1",
                     String(repeating: "A[", count: 200)] {
            #expect(mathError(line)?.contains("more than 100 levels of nesting") == true, "\(line.prefix(10))")
        }
        // Beyond the symbol limit the line is refused before it is parsed.
        for line in [String(repeating: "-", count: 10_000) + "1", "A" + String(repeating: ".T", count: 5_000)] {
            #expect(mathError(line)?.contains("more than 1000 symbols in one line") == true)
        }
        // Exactly at the limit still works.
        expectScalar(try evaluate(String(repeating: "(", count: 100) + "1" + String(repeating: ")", count: 100)), 1)
        expectScalar(try evaluate(String(repeating: "-", count: 100) + "1"), 1)
    }

    @Test("very long input: long chains work up to the symbol limit, beyond it a clear error")
    func longInput() throws {
        expectScalar(try evaluate(Array(repeating: "1", count: 500).joined(separator: " + ")), 500)  // 999 symbols
        expectScalar(try evaluate("A[0, 0]" + String(repeating: " ", count: 100_000) + "+ 1"), 2)
        let tooMany = Array(repeating: "1", count: 600).joined(separator: " + ")
        #expect(mathError(tooMany)?.contains("more than 1000 symbols in one line: split it into named steps (A = …)") == true)
        let longName = String(repeating: "x", count: 100_000)
        let message = try #require(mathError(longName + " + 1"))
        #expect(message.hasPrefix("unknown name 'xxxxxxxx") && message.count < 200)
    }
}

// MARK: Telling math from commands

@Suite("Math: telling math from commands")
struct MathSyntaxTests {
    @Test("math has =, @, (, [, .T or an operator, or is a lone known name")
    func looksLikeMath() {
        for line in ["S = Q @ K.T", "Q @ K.T", "softmax(S)", "Q[0]", "Q.T", "scores / 8", "-Q", "2", ".5 * Q",
                     "Q", "dk", "softmax", "weights - 1", "Zs = 1"] {
            #expect(MathSyntax.looksLikeMath(line), "\(line)")
        }
        for line in ["", "   ", "# Q @ K.T", "layer 2", "head 3", "sentence what is 2+2?", "help softmax", "walk", "tokens",
                     "check weights softmax(Q @ K.T)", "export weights w.npy", "Qs", "names", "precision 3", "quit"] {
            #expect(!MathSyntax.looksLikeMath(line), "\(line)")
        }
        #expect(MathSyntax.looksLikeMath("Zs", knownNames: ["Zs"]))
        #expect(!MathSyntax.looksLikeMath("Q", knownNames: []))
    }
}

// MARK: check

@Suite("Math: check against the model's step")
struct CheckTests {
    @Test("✓ when shapes agree and max|Δ| ≤ 1e-4")
    func passes() {
        let reference = Matrix([[0.25, 0.75], [0.5, 0.5]])
        let mine = Matrix([[Float(0.25).nextUp, 0.75], [0.5, 0.5]])  // off by one ulp, 2⁻²⁵ ≈ 3.0e-08
        let result = Check.compare(.matrix(mine), with: reference, stepName: "weights", rowLabels: nil, columnLabels: nil)
        #expect(result.passed)
        #expect(result.maxDifference == Float(0.25).nextUp - 0.25)
        #expect(result.message == "✓ matches weights [2 × 2]: max|Δ| = 3.0e-08")
        let exact = Check.compare(.matrix(reference), with: reference, stepName: "weights", rowLabels: nil, columnLabels: nil)
        #expect(exact.passed && exact.maxDifference == 0 && exact.message == "✓ matches weights [2 × 2]: max|Δ| = 0")
        let scalar = Check.compare(.scalar(2), with: Matrix([[2]]), stepName: "total", rowLabels: nil, columnLabels: nil)
        #expect(scalar.passed)
    }

    @Test("✗ with the largest difference and where it is, in tokens when given")
    func fails() {
        let reference = Matrix([[0.1, 0.2], [0.9472, 0.3]])
        let mine = Matrix([[0.1, 0.2], [0.5312, 0.3]])
        let labelled = Check.compare(.matrix(mine), with: reference, stepName: "weights",
                                     rowLabels: ["[CLS]", "sat"], columnLabels: ["[CLS]", "sat"])
        #expect(!labelled.passed)
        #expect(abs((labelled.maxDifference ?? 0) - 0.416) < 1e-6)
        #expect(labelled.message == "✗ max|Δ| = 0.42 at [1 sat, 0 [CLS]] (yours 0.5312, the model's 0.9472)")
        let plain = Check.compare(.matrix(mine), with: reference, stepName: "weights", rowLabels: nil, columnLabels: nil)
        #expect(plain.message == "✗ max|Δ| = 0.42 at [1, 0] (yours 0.5312, the model's 0.9472)")
        let twoOff = Matrix([[0.1, 0.25], [0.5312, 0.3]])
        let several = Check.compare(.matrix(twoOff), with: reference, stepName: "weights", rowLabels: nil, columnLabels: nil)
        #expect(several.message == "✗ max|Δ| = 0.42 at [1, 0] (yours 0.5312, the model's 0.9472); 2 of 4 cells differ by more than 0.0001")
        let justOver = Check.compare(.matrix(Matrix([[0.1, 0.2002], [0.9472, 0.3]])), with: reference, stepName: "weights",
                                     rowLabels: nil, columnLabels: nil)
        #expect(!justOver.passed && justOver.message.hasPrefix("✗ max|Δ| = 0.0002 at [0, 1]"))
    }

    @Test("✗ names the first of cells whose differences tie up to float rounding: a missing bias names row 0 on every CPU")
    func missingBiasNamesTheFirstRow() {
        // The model's q = x·W + b; the learner forgot b. Column 1 is off by 1.3 in every row, with
        // rounding that makes row 2 the largest by 1e-7 on this "CPU".
        let reference = Matrix([[0.5, 1.3], [0.25, 2.3], [0.75, 3.3]])
        let mine = Matrix([[0.5, 0], [0.25, 1.0], [0.75, 2.0 - 1e-7]])
        let result = Check.compare(.matrix(mine), with: reference, stepName: "q", rowLabels: ["a", "b", "c"], columnLabels: nil)
        #expect(result.message.hasPrefix("✗ max|Δ| = 1.3 at [0 a, 1] (yours 0.0000, the model's 1.3000)"), "\(result.message)")
        // A difference larger beyond rounding is still named where it is.
        let clear = Check.compare(.matrix(Matrix([[0.5, 0], [0.25, 1.0], [0.75, 1.9]])), with: reference, stepName: "q",
                                  rowLabels: ["a", "b", "c"], columnLabels: nil)
        #expect(clear.message.hasPrefix("✗ max|Δ| = 1.4 at [2 c, 1]"), "\(clear.message)")
    }

    @Test("✗ when shapes differ, with a hint when the transpose would fit")
    func shapes() {
        let reference = Matrix(rows: 8, columns: 32)
        let square = Check.compare(.matrix(Matrix(rows: 8, columns: 8)), with: reference, stepName: "weights", rowLabels: nil, columnLabels: nil)
        #expect(!square.passed && square.maxDifference == nil)
        #expect(square.message == "✗ shapes differ: yours [8 × 8], weights is [8 × 32]")
        let transposed = Check.compare(.matrix(Matrix(rows: 32, columns: 8)), with: reference, stepName: "q", rowLabels: nil, columnLabels: nil)
        #expect(transposed.message == "✗ shapes differ: yours [32 × 8], q is [8 × 32] — yours transposed (.T) would fit")
        let number = Check.compare(.scalar(1), with: reference, stepName: "q", rowLabels: nil, columnLabels: nil)
        #expect(number.message == "✗ shapes differ: yours is a number, q is [8 × 32]")
    }

    @Test("masked cells: -inf equals -inf, and -1e9 counts as masked with a note")
    func masked() {
        let reference = Matrix([[0, -.infinity], [0, 0]])
        let same = Check.compare(.matrix(reference), with: reference, stepName: "masked", rowLabels: nil, columnLabels: nil)
        #expect(same.passed && same.message == "✓ matches masked [2 × 2]: max|Δ| = 0")
        let standIn = Check.compare(.matrix(Matrix([[0, -1e9], [0, 0]])), with: reference, stepName: "masked", rowLabels: nil, columnLabels: nil)
        #expect(standIn.passed)
        #expect(standIn.message == "✓ matches masked [2 × 2]: max|Δ| = 0; 1 masked cell is ≤ -1e9 on one side and -inf on the other, the same after softmax")
        let unmasked = Check.compare(.matrix(Matrix([[0, 0.1], [0, 0]])), with: reference, stepName: "masked", rowLabels: nil, columnLabels: nil)
        #expect(!unmasked.passed && unmasked.maxDifference == .infinity)
        #expect(unmasked.message == "✗ max|Δ| = inf at [0, 1] (yours 0.1000, the model's -inf: a masked cell)")
        let tooSmall = Check.compare(.matrix(Matrix([[0, -1e8], [0, 0]])), with: reference, stepName: "masked", rowLabels: nil, columnLabels: nil)
        #expect(!tooSmall.passed && tooSmall.message == "✗ max|Δ| = inf at [0, 1] (yours -1.0000e+08, the model's -inf: a masked cell)")
    }

    @Test("NaN in yours is a failure that says nan; NaN in both is equal")
    func notANumber() {
        let reference = Matrix([[0.5, 1]])
        let result = Check.compare(.matrix(Matrix([[0.5, .nan]])), with: reference, stepName: "z", rowLabels: nil, columnLabels: nil)
        #expect(!result.passed && result.maxDifference?.isNaN == true)
        #expect(result.message.hasPrefix("✗ max|Δ| = nan at [0, 1] (yours nan, the model's 1.0000). Yours has nan in 1 of 2 cells"))
        let both = Check.compare(.matrix(Matrix([[.nan]])), with: Matrix([[.nan]]), stepName: "z", rowLabels: nil, columnLabels: nil)
        #expect(both.passed)
    }

    @Test("the learner's attention, checked against the hand-computed weights")
    func endToEnd() throws {
        let mine = try evaluate("softmax(Q @ K.T / sqrt(dk))")
        let handWeights = Plain.softmaxRows(Plain.map(Plain.product(Fixture.q, Plain.transpose(Fixture.k))) { $0 / 3.0.squareRoot() })
        let reference = Matrix(handWeights.map { $0.map(Float.init) })
        let result = Check.compare(mine, with: reference, stepName: "weights", rowLabels: ["a", "b", "c", "d"], columnLabels: nil)
        #expect(result.passed && result.message.hasPrefix("✓ matches weights [4 × 4]: max|Δ| = "))
        let wrong = Check.compare(try evaluate("softmax(Q @ K.T)"), with: reference, stepName: "weights",
                                  rowLabels: ["a", "b", "c", "d"], columnLabels: nil)
        #expect(!wrong.passed && wrong.message.hasPrefix("✗ max|Δ| = "))
    }
}
