/// One line of the learner's math: a binding or a value to show.
/// ```
/// weights = softmax(Q @ K.T / sqrt(dk))      .assign("weights", …)
/// weights[3, :]                              .evaluate(…)
/// ```
public enum MathStatement: Sendable, Equatable {
    /// `NAME = EXPR`: compute the value and bind it to the name.
    case assign(String, MathExpression)
    /// `EXPR`: compute the value and show it.
    case evaluate(MathExpression)
}

/// The binary operators, by the symbol the learner types.
public enum MathOperator: String, Sendable, Equatable, CaseIterable {
    /// Element-wise sum, with broadcasting.
    case add = "+"
    /// Element-wise difference, with broadcasting.
    case subtract = "-"
    /// Element-wise (Hadamard) product, with broadcasting; not the matrix product.
    case multiply = "*"
    /// Element-wise quotient; `x / 0` is `inf` as in NumPy.
    case divide = "/"
    /// Element-wise power: `A ** 2` squares every cell.
    case power = "**"
    /// The matrix product, `(m × k) @ (k × n) → (m × n)`.
    case matrixProduct = "@"
    /// Comparisons, cell by cell: 1 where it holds, 0 where not (NumPy's booleans as numbers), so
    /// that `mean(ffn_hidden > 0)` is the share of positive cells.
    case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">=", equal = "==", notEqual = "!="

    /// The comparisons, the loosest operators.
    static let comparisons: [MathOperator] = [.less, .lessOrEqual, .greater, .greaterOrEqual, .equal, .notEqual]
}

/// One axis of a subscript, as in NumPy: `A[2]`, `A[1:3, :]`, `A[:, -1]`.
public enum MathIndex: Sendable, Equatable {
    /// `i`: one row (or column). Negative counts from the end; the result keeps the axis with size 1.
    case position(MathExpression)
    /// `a:b`, `a:`, `:b` or `:` — the half-open range a ..< b, clamped to the matrix as NumPy does.
    case range(MathExpression?, MathExpression?)
}

/// One argument of a function call: `Q` or `axis=0`.
public struct MathArgument: Sendable, Equatable {
    /// The name in `axis=0`; `nil` for a positional argument.
    public var keyword: String?
    /// The argument's expression.
    public var value: MathExpression

    /// A positional argument, or a named one when `keyword` is given.
    public init(keyword: String? = nil, value: MathExpression) {
        self.keyword = keyword
        self.value = value
    }
}

/// The syntax tree of an expression. Every node keeps its source text exactly as the learner typed
/// it, so that an error can quote the operands: `Q @ K: [8 × 32] @ [8 × 32]: …`.
///
/// The text is a `Substring` of the one parsed line: all nodes share that line's storage, so a
/// long line does not cost a copy per node.
public indirect enum MathExpression: Sendable, Equatable {
    /// A number literal: `2`, `0.5`, `1e-3`, `.5`, `inf`.
    case number(Float, text: Substring)
    /// A name the session or the learner bound: `Q`, `dk`, `W_Q`.
    case name(String)
    /// Unary minus: `-A`.
    case negate(MathExpression, text: Substring)
    /// `A op B`; see `MathOperator`.
    case binary(MathOperator, MathExpression, MathExpression, text: Substring)
    /// `A.T`, the transpose.
    case transpose(MathExpression, text: Substring)
    /// `A[rows]` or `A[rows, columns]`.
    case index(MathExpression, [MathIndex], text: Substring)
    /// `name(arguments)`.
    case call(String, [MathArgument], text: Substring)
    /// `(A)`: kept so that the text and a suggested `.T` read as typed.
    case parenthesized(MathExpression, text: Substring)
    /// `[[1, 2], [3, 4]]`, a matrix written out row by row; `[1, 2, 3]` is one row.
    case literal([[MathExpression]], text: Substring)

    /// The source text of this expression, as typed.
    public var text: String {
        switch self {
        case let .name(name): name
        case let .number(_, text), let .negate(_, text), let .binary(_, _, _, text), let .transpose(_, text),
             let .index(_, _, text), let .call(_, _, text), let .parenthesized(_, text), let .literal(_, text):
            String(text)
        }
    }

    /// Every name and function the expression mentions: `softmax(Q @ K.T / sqrt(dk))` → softmax,
    /// Q, K, sqrt, dk. An exercise's `# forbid:` and `# require:` are checked against them.
    public var references: Set<String> { names.union(functionsCalled) }

    /// The names it reads: Q, K and dk in `softmax(Q @ K.T / sqrt(dk))`; `concat` in
    /// `concat @ W_O`, but not in `concat(A, B)`.
    public var names: Set<String> {
        var names = Set<String>()
        visit { if case let .name(name) = $0 { names.insert(name) } }
        return names
    }

    /// The functions it calls: softmax and sqrt in `softmax(Q @ K.T / sqrt(dk))`.
    public var functionsCalled: Set<String> {
        var functions = Set<String>()
        visit { if case let .call(name, _, _) = $0 { functions.insert(name) } }
        return functions
    }

    /// Calls `body` on this node and every node inside it.
    func visit(_ body: (MathExpression) -> Void) {
        body(self)
        switch self {
        case .number, .name: break
        case let .negate(inner, _), let .transpose(inner, _), let .parenthesized(inner, _): inner.visit(body)
        case let .binary(_, left, right, _): left.visit(body); right.visit(body)
        case let .index(base, subscripts, _):
            base.visit(body)
            for index in subscripts {
                switch index {
                case let .position(e): e.visit(body)
                case let .range(start, end): start?.visit(body); end?.visit(body)
                }
            }
        case let .call(_, arguments, _): for argument in arguments { argument.value.visit(body) }
        case let .literal(rows, _): for cell in rows.joined() { cell.visit(body) }
        }
    }

    /// Whether a postfix such as `.T` can follow the text directly; otherwise it needs parentheses
    /// (`(A + B).T`, not `A + B.T`).
    var isAtom: Bool {
        switch self {
        case .negate, .binary: false
        case .number, .name, .transpose, .index, .call, .parenthesized, .literal: true
        }
    }
}
