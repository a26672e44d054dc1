import Foundation

/// One function of the learner's math, as the help table shows it.
public struct MathFunction: Sendable, Equatable {
    /// What the learner types: `softmax`.
    public let name: String
    /// The forms it takes, optional arguments in brackets: `softmax(A[, axis])`.
    public let usage: String
    /// What it computes, in one line.
    public let summary: String
    /// Its parameters in order; the first `required` must be given. Those after the first may also
    /// be given by name (`axis=0`, `k=1`).
    let parameters: [String]
    let required: Int
    /// Whether it takes any number of matrices (`concat`).
    let variadic: Bool

    init(_ name: String, _ parameters: [String], required: Int? = nil, variadic: Bool = false,
         usage: String, _ summary: String) {
        self.name = name
        self.parameters = parameters
        self.required = required ?? parameters.count
        self.variadic = variadic
        self.usage = usage
        self.summary = summary
    }

    /// The simplest call, for examples: `softmax(A)`, `zeros(m, n)`.
    var example: String { "\(name)(\(parameters.prefix(max(required, 1)).joined(separator: ", ")))" }
}

/// The vocabulary of the learner's math: its functions, a help text, and how to tell a line of
/// math from a command.
public enum MathSyntax {
    /// Every function, in the order the help lists them: attention's first. `usage` shows optional
    /// arguments in brackets, as NumPy's documentation does.
    ///
    /// `axis` is NumPy's: `axis=0` works down each column (a 1 × n result), `axis=1` along each row
    /// (an m × 1 result, which broadcasts back against the rows); no axis reduces to one number.
    public static let functionTable: [MathFunction] = [
        MathFunction("softmax", ["A", "axis"], required: 1, usage: "softmax(A[, axis])",
                     "each row → exp(a − max) / Σ exp(a − max); axis=0 columns"),
        MathFunction("exp", ["A"], usage: "exp(A)", "eᵃ, cell by cell"),
        MathFunction("log", ["A"], usage: "log(A)", "natural logarithm, cell by cell"),
        MathFunction("log2", ["A"], usage: "log2(A)", "base-2 logarithm, cell by cell (entropy in bits)"),
        MathFunction("sqrt", ["A"], usage: "sqrt(A)", "square root, cell by cell: sqrt(dk)"),
        MathFunction("abs", ["A"], usage: "abs(A)", "|a|, cell by cell"),
        MathFunction("tanh", ["A"], usage: "tanh(A)", "hyperbolic tangent, cell by cell"),
        MathFunction("cos", ["A"], usage: "cos(A)", "cosine (radians), cell by cell: RoPE's COS"),
        MathFunction("sin", ["A"], usage: "sin(A)", "sine (radians), cell by cell: RoPE's SIN"),
        MathFunction("gelu", ["A"], usage: "gelu(A)", "a · ½(1 + erf(a/√2)), cell by cell, as BERT's FFN uses"),
        MathFunction("gelu_tanh", ["A"], usage: "gelu_tanh(A)", "GELU's tanh form, cell by cell: GPT-2's gelu_new"),
        MathFunction("max", ["A", "axis"], required: 1, usage: "max(A[, axis])", "largest cell; axis=1 per row (m × 1), axis=0 per column"),
        MathFunction("min", ["A", "axis"], required: 1, usage: "min(A[, axis])", "smallest cell, as max"),
        MathFunction("sum", ["A", "axis"], required: 1, usage: "sum(A[, axis])", "sum of the cells, as max"),
        MathFunction("mean", ["A", "axis"], required: 1, usage: "mean(A[, axis])", "average of the cells, as max"),
        MathFunction("var", ["A", "axis"], required: 1, usage: "var(A[, axis])", "population variance mean((a − mean)²), as max"),
        MathFunction("std", ["A", "axis"], required: 1, usage: "std(A[, axis])", "standard deviation √var, as max"),
        MathFunction("norm", ["A", "axis"], required: 1, usage: "norm(A[, axis])", "length √Σx², as max: axis=1 each row's ‖·‖"),
        MathFunction("argmax", ["A", "axis"], required: 1, usage: "argmax(A[, axis])",
                     "index of the largest: axis=1 each row's column (m × 1)"),
        MathFunction("layernorm", ["A", "gamma", "beta", "eps"], required: 1, usage: "layernorm(A[, gamma, beta])",
                     "rows to mean 0, variance 1, · γ + β; the model's ε or eps="),
        MathFunction("transpose", ["A"], usage: "transpose(A)", "Aᵀ, the same as A.T"),
        MathFunction("silu", ["A"], usage: "silu(A)", "x · σ(x), cell by cell (SwiGLU's gate)"),
        MathFunction("rmsnorm", ["A", "g", "eps"], required: 1, usage: "rmsnorm(A[, g])",
                     "rows ÷ root mean square, then · g; the model's ε or eps="),
        MathFunction("rotate_half", ["A"], usage: "rotate_half(A)", "[x₁ | x₂] → [−x₂ | x₁]: RoPE's partner dimensions"),
        MathFunction("zeros", ["m", "n"], usage: "zeros(m, n)", "m × n matrix of 0s"),
        MathFunction("ones", ["m", "n"], usage: "ones(m, n)", "m × n matrix of 1s: ones(T, T)"),
        MathFunction("eye", ["n"], usage: "eye(n)", "n × n identity matrix"),
        MathFunction("arange", ["start", "stop", "step"], required: 1, usage: "arange([start, ]stop[, step])",
                     "1 × n row from start by step, below stop: arange(0, 64, 2)"),
        MathFunction("triu", ["A", "k"], required: 1, usage: "triu(A[, k])", "keeps column − row ≥ k (on and above diagonal k), else 0"),
        MathFunction("tril", ["A", "k"], required: 1, usage: "tril(A[, k])", "keeps column − row ≤ k; causal mask: tril(ones(T, T))"),
        MathFunction("concat", ["A"], variadic: true, usage: "concat(A, B, …)", "side by side, as the heads are joined (same row count)"),
        MathFunction("shape", ["A"], usage: "shape(A)", "(rows, columns), a 1 × 2 row; A.shape, A.shape[0] as NumPy"),
        MathFunction("head", ["A", "h"], usage: "head(A, h)", "A at head h of this layer, staying here: head(z, 3)"),
        MathFunction("heads", ["A"], usage: "heads(A)", "A at every head, in order, to join: concat(heads(z))"),
    ]

    /// The functions' names.
    public static let functions: [String] = functionTable.map(\.name)

    /// Names a learner cannot assign to: the functions and the literals `inf` and `nan`.
    public static let reservedNames: Set<String> = Set(functions + ["inf", "nan"])

    /// The function called `name`, if there is one.
    public static func function(named name: String) -> MathFunction? {
        functionTable.first { $0.name == name }
    }

    /// Whether `text` is a name a learner may bind: `[A-Za-z_][A-Za-z0-9_]*`, not reserved.
    public static func isName(_ text: String) -> Bool {
        guard let first = text.first, first.isNameStart else { return false }
        return text.allSatisfy(\.isNameCharacter) && !reservedNames.contains(text)
    }

    /// Words that begin a command line even when the rest looks like math (`sentence 2 + 2 = 4`).
    /// Step names are not among them: `weights - 1` is math, while `weights` alone is left to the
    /// caller.
    static let commandWords: Set<String> = Set(Commands.words).subtracting(StepInfo.names)
        .union(["check", "names", "?"])

    /// Whether a line is meant as math rather than a command: it contains `=`, `@`, `(`, `[`, `.T`, `.shape`
    /// or an operator `+ - * / < >`, starts with a number, or is a lone known name or function — and
    /// does not start with a command word (`sentence`, `layer`, `help`, `check`, …).
    /// - Parameter knownNames: the names bound for the learner's math; by default the session's.
    public static func looksLikeMath(_ line: String, knownNames: [String] = Session.boundNames) -> Bool {
        let trimmed = line.trimmingWhitespace()
        guard let first = trimmed.first, first != "#" else { return false }
        let (word, _) = trimmed.splitFirstWord()
        if commandWords.contains(word) { return false }
        if trimmed.contains(where: { "=@([+-*/<>".contains($0) }) || trimmed.contains(".T") || trimmed.contains(".shape") {
            return true
        }
        if first.isASCIIDigit || first == "." { return true }
        return knownNames.contains(trimmed) || reservedNames.contains(trimmed)
    }

    /// The help text: the syntax, then one line per function.
    public static var help: String {
        var lines = [
            "Math: NAME = EXPR binds a name; EXPR shows its value (a matrix or a number).",
            "",
            "  A @ B               matrix product: (m × k) @ (k × n) → (m × n)",
            "  A.T  A.shape        transpose; (rows, columns), A.shape[0] the rows",
            "  + - * /             cell by cell; numbers, 1 × n rows, m × 1 columns broadcast",
            "  A ** 2              power, cell by cell",
            "  A > 0  A == B       < <= > >= == !=, cell by cell: 1 where true, 0 where not",
            "  A[2]  A[:, 1]       row 2 (1 × n), column 1 (m × 1); A[2, 3] is one number",
            "  A[0:3, 1:]  A[-1]   ranges as in NumPy; negative indices count from the end",
            "  inf  -1e9  .5  nan  numbers; nan spreads as in NumPy: 0 * inf, max([1, nan])",
            "  [[1, 2], [3, 4]]    a matrix written out row by row; [1, 2, 3] is one row",
            "  ( )                 grouping. Tightest first: .T [ ] f( ), **, unary -, @ * /,",
            "                      + -, then the comparisons",
            "",
            "  axis=0 works down each column (1 × n), axis=1 along each row (m × 1, which",
            "  broadcasts back: S - max(S, axis=1)); no axis gives one number.",
            "",
        ]
        // Two columns within 80 characters; a long usage puts its summary on the next line.
        let width = 20
        for function in functionTable {
            if function.usage.count < width {
                lines.append("  " + function.usage.padding(toLength: width, withPad: " ", startingAt: 0) + function.summary)
            } else {
                lines.append("  " + function.usage)
                lines.append("  " + String(repeating: " ", count: width) + function.summary)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
