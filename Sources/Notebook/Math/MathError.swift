import AttnCore

/// Everything that can go wrong in the learner's math, each case with the context its sentence
/// needs. The session sees them as `NotebookError.math(sentence)`.
///
/// Every sentence quotes the learner's own text first, then says what is wrong and, where one
/// exists, what would be right:
/// ```
/// Q @ K: [8 × 32] @ [8 × 32]: inner sizes 32 and 8 differ — did you mean K.T?
/// unknown name 'Qs': did you mean 'Q'?
/// syntax error at column 7 in 'Q @ (K': expected ')'
/// ```
enum MathError: Equatable {
    /// The line cannot be read; `column` counts characters from 1.
    case syntax(line: String, column: Int, problem: String)
    /// A name nothing is bound to.
    case unknownName(String, suggestion: String?, known: [String])
    /// A function's name used as a value, e.g. `softmax` without parentheses.
    case functionWithoutCall(String, usage: String)
    /// `name(…)` where no function has that name.
    case unknownFunction(String, suggestion: String?)
    /// `Q(…)` where `Q` is a value.
    case valueCalled(String)
    /// `@` whose inner sizes differ; `suggestion` is the operand with `.T` that would fit.
    case innerSizes(expression: String, left: MathShape, right: MathShape, suggestion: String?)
    /// `@` with a number on one side.
    case productWithNumber(expression: String, number: String)
    /// An element-wise operator between shapes that do not broadcast.
    case notBroadcastable(expression: String, left: MathShape, right: MathShape)
    /// A result larger than the notebook makes.
    case tooLarge(expression: String, rows: Int, columns: Int)
    /// Anything else about one expression: `TEXT: problem`.
    case invalid(expression: String, problem: String)
    /// A line whose matrices together exceed `MathEvaluator.maximumCellsPerLine`.
    case lineTooLarge(expression: String, cells: Int)

    /// The sentence the learner reads.
    var description: String {
        switch self {
        case let .syntax(line, column, problem):
            return "syntax error at column \(column) in '\(Self.excerpt(of: line, around: column))': \(problem)"
        case let .unknownName(name, suggestion, known):
            let name = Self.abbreviated(name)
            if let suggestion { return "unknown name '\(name)': did you mean '\(suggestion)'?" }
            if known.isEmpty { return "unknown name '\(name)': no names are bound yet" }
            let listed = known.count > 24 ? known.prefix(24).joined(separator: ", ") + ", …" : known.joined(separator: ", ")
            return "unknown name '\(name)': the names are \(listed)"
        case let .functionWithoutCall(name, usage):
            return "\(name) is a function: call it with parentheses, e.g. \(usage)"
        case let .unknownFunction(name, suggestion):
            let name = Self.abbreviated(name)
            if let suggestion { return "unknown function '\(name)': did you mean '\(suggestion)'?" }
            return "unknown function '\(name)': the functions are \(MathSyntax.functions.joined(separator: ", "))"
        case let .valueCalled(name):
            let name = Self.abbreviated(name)
            return "'\(name)' is a value, not a function: for a product write \(name) @ (…) or \(name) * (…)"
        case let .innerSizes(expression, left, right, suggestion):
            let base = "\(Self.abbreviated(expression)): \(left) @ \(right): inner sizes \(left.columns) and \(right.rows) differ"
            return base + (suggestion.map { " — did you mean \(Self.abbreviated($0))?" } ?? "")
        case let .productWithNumber(expression, number):
            return "\(Self.abbreviated(expression)): @ multiplies two matrices, but \(Self.abbreviated(number)) is a number: use * to scale"
        case let .notBroadcastable(expression, left, right):
            return "\(Self.abbreviated(expression)): shapes \(left) and \(right) do not broadcast"
        case let .tooLarge(expression, rows, columns):
            return "\(Self.abbreviated(expression)): the result would be [\(rows) × \(columns)], \(megabytes(cells: Double(rows) * Double(columns))); "
                + "a matrix holds at most \(megabytes(cells: Double(MathEvaluator.maximumCells))) (\(MathEvaluator.maximumCells) numbers): make it smaller, or take a slice"
        case let .invalid(expression, problem):
            return "\(Self.abbreviated(expression)): \(problem)"
        case let .lineTooLarge(expression, cells):
            return "\(Self.abbreviated(expression)): this line's matrices would hold \(megabytes(cells: Double(cells))) together; "
                + "one line makes at most \(megabytes(cells: Double(MathEvaluator.maximumCellsPerLine))): name a part first (A = …) and use A"
        }
    }

    /// The error the session catches.
    var notebookError: NotebookError { .math(description) }

    /// Long source text shortened in the middle, so that an error stays one readable line.
    static func abbreviated(_ text: String, limit: Int = 60) -> String {
        guard text.count > limit else { return text }
        let head = limit * 2 / 3, tail = limit - head - 1
        return String(text.prefix(head)) + "…" + String(text.suffix(tail))
    }

    /// The part of a long line around `column` (counted from 1 in the whole line).
    static func excerpt(of line: String, around column: Int, width: Int = 60) -> String {
        let characters = Array(line)
        guard characters.count > width else { return line }
        let start = max(0, min(column - 1 - width / 2, characters.count - width))
        let end = min(characters.count, start + width)
        return (start > 0 ? "…" : "") + String(characters[start..<end]) + (end < characters.count ? "…" : "")
    }
}

/// The memory of `cells` Float numbers as the learner reads it, never rounded to a limit it
/// exceeds: `64 MB`, `64.02 MB`, `18 KB` (MB = 2²⁰ bytes).
func megabytes(cells: Double) -> String {
    let bytes = cells * Double(MemoryLayout<Float>.size)
    if bytes < Double(1 << 20) { return String(format: "%.0f KB", (bytes / 1024).rounded(.up)) }
    let mb = bytes / Double(1 << 20)
    return mb == mb.rounded() ? String(format: "%.0f MB", mb) : String(format: "%.2f MB", (mb * 100).rounded(.up) / 100)
}

/// A matrix's shape in an error, without the matrix: `[8 × 32]`.
struct MathShape: Equatable, CustomStringConvertible {
    let rows: Int
    let columns: Int

    init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }

    init(_ m: Matrix) { self.init(rows: m.rows, columns: m.columns) }

    var description: String { "[\(rows) × \(columns)]" }
}

/// The bound name closest to a mistyped one. Names are case-sensitive, so `q` and `Qs` should both
/// find `Q`: the distance is measured ignoring case, and ties go to the candidate that also matches
/// the case.
func closestName(to word: String, in candidates: [String]) -> String? {
    guard word.count <= 64 else { return nil }  // no typo of a name is this long; spare the edit distances
    let lowered = Array(word.lowercased())
    var best: (name: String, distance: Int, exactDistance: Int)?
    for candidate in candidates.sorted() {
        let distance = editDistance(lowered, Array(candidate.lowercased()))
        let exactDistance = editDistance(Array(word), Array(candidate))
        if let current = best, (distance, exactDistance) >= (current.distance, current.exactDistance) { continue }
        best = (candidate, distance, exactDistance)
    }
    // A likely typo: about one edit per two letters, at most three (the rule of `closest(to:in:)`).
    if let best, best.distance <= max(1, min(3, word.count / 2)) { return best.name }
    return candidates.sorted().first { word.count >= 2 && $0.lowercased().hasPrefix(word.lowercased()) }
}
