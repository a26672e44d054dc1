import AttnCore
import Foundation

/// The learner's own math: names bound to the selected layer and head, expressions, and `check`.
extension Session {
    /// Every name the learner can use now: the model's (for this layer and head) and their own.
    var mathNames: [String] {
        modelNames + availableSteps.map(\.rawValue) + availableExplanationNames + learnerNames.keys.sorted()
    }

    /// The names the selected model binds (the encoder's before a model is chosen).
    var modelNames: [String] { model?.boundNames ?? Bert.boundNames }

    /// The model's numbers under the names of the math, in the orientation of the math:
    /// `X @ W_Q + b_Q` equals `Q` (W_Q is the head's d_model × dₕ slice, the transpose of the
    /// checkpoint's rows).
    ///
    /// Only the names in `needed` are computed (some, like `E`, are large); `nil` computes all.
    func boundValues(needed: Set<String>? = nil, atHead otherHead: Int? = nil) throws -> [String: MathValue] {
        let head = otherHead ?? self.head  // head(A, h) binds another head's names
        // Math that names nothing of the model (2 ** 10, arange(5), the learner's own names)
        // needs no sentence.
        if let needed, needed.isDisjoint(with: Self.boundNames + StepInfo.names) {
            return try explanationValues(needed: needed).merging(learnerNames) { $1 }
        }
        let trace = try requireTrace()
        guard let model else { return [:] }
        var names: [String: MathValue] = [:]
        func set(_ name: String, _ make: @autoclosure () -> MathValue?) {
            if needed?.contains(name) ?? true, let value = make() { names[name] = value }
        }
        // Every step of this layer and head under its own name: x, q, scores, attn_out, …
        for step in availableSteps {
            // The logits of a long text are refused when named, and left out of "all".
            if step == .logits {
                do {
                    try requireLogitsFit(trace)
                } catch {
                    if needed?.contains(step.rawValue) == true { throw error }
                    continue
                }
            }
            set(step.rawValue, trace.matrix(step, layer: layer, head: head).map(MathValue.matrix))
        }
        let l = trace.layers[layer], h = l.heads[head]
        set("X", .matrix(l.x))
        set("Q", .matrix(h.q))
        set("K", .matrix(h.k))
        set("V", .matrix(h.v))
        set("scores", .matrix(trace.tokenByToken(layer: layer, head: head).scores))
        set("scaled", .matrix(trace.tokenByToken(layer: layer, head: head).scaled))
        set("masked", .matrix(trace.tokenByToken(layer: layer, head: head).masked))
        set("weights", .matrix(trace.tokenByToken(layer: layer, head: head).weights))
        set("Z", .matrix(h.z))
        set("dk", .scalar(Float(model.sizes.headDimension)))
        set("T", .scalar(Float(trace.count)))
        set("ids", .matrix(Matrix(rows: trace.count, columns: 1, values: trace.tokenIds.map(Float.init))))
        // The mask as a matrix: 0 where a query may look, −∞ where it may not.
        set("M", .matrix(trace.tokenByToken(layer: layer, head: head).masked.map { $0 == -.infinity ? -.infinity : 0 }))
        for name in model.boundNames where !traceNames.contains(name) {
            set(name, model.weight(named: name, layer: layer, head: head, trace: trace).map(MathValue.matrix))
        }
        // Every name (needed nil: `names`, or an unknown name's suggestions) without failing on a
        // classifier this model cannot run; a line that names class_p hears why.
        let explained = needed == nil ? ((try? explanationValues(needed: nil)) ?? [:]) : try explanationValues(needed: needed)
        for (name, value) in explained { names[name] = value }
        for (name, value) in learnerNames { names[name] = value }
        return names
    }

    /// The identifiers a line mentions: the names worth binding for it.
    func identifiers(in line: String) -> Set<String> {
        var names = Set<String>(), current = ""
        for character in line + " " {
            if character == "_" || character.isLetter || (character.isNumber && !current.isEmpty) {
                current.append(character)
            } else {
                if !current.isEmpty { names.insert(current) }
                current = ""
            }
        }
        return names
    }

    /// A vector as a 1 × n row, which broadcasts over the rows of a T × n matrix.
    func row(_ values: [Float]) -> Matrix { Matrix(rows: 1, columns: values.count, values: values) }

    /// `NAME = EXPR` binds a name; `EXPR` prints its value.
    func math(_ line: String) throws -> String {
        switch try MathParser.parse(line) {
        case let .assign(name, expression):
            guard !modelNames.contains(name), Step(rawValue: name) == nil else {
                throw NotebookError.math("\(name) is the model's own name: choose another, e.g. my_\(name)")
            }
            guard !Self.explanationNames.contains(name) else {
                throw NotebookError.math("\(name) holds what lime or classify computed: choose another name, e.g. my_\(name)")
            }
            let value = try evaluate(expression, line: line)
            try checkRoom(for: name, value)
            learnerNames[name] = value
            learnerLabels[name] = labels(of: value, expression, line: line)
            learnerDefinitions[name] = MathDefinition(expression: expression.text, uses: uses(of: expression))
            return "\(name) = \(describe(value))\n"
        case let .evaluate(expression):
            let value = try evaluate(expression, line: line)
            // A shape reads as NumPy prints it: (8, 32).
            if case .call("shape", _, _) = expression, case let .matrix(m) = value, m.values.count == 2 {
                return "(\(m.values.map { String(Int($0)) }.joined(separator: ", ")))\n"
            }
            return render(value, title: expression.text, labels: labels(of: value, expression, line: line))
        }
    }

    /// The most numbers the learner's names may hold together (1 GiB of `Float`); one name holds at
    /// most `MathEvaluator.maximumCells`. A name shares the storage of what it was bound to, but is
    /// counted whole: the limit does not depend on how the value was made.
    public static let maximumLearnerCells = 1 << 28

    /// The numbers the learner's names hold.
    var learnerCells: Int { learnerNames.values.reduce(0) { $0 + $1.cellCount } }

    /// Refuses to bind `name` to a value larger than one name or all names may hold.
    func checkRoom(for name: String, _ value: MathValue) throws {
        let cells = value.cellCount
        guard cells <= MathEvaluator.maximumCells else {
            throw NotebookError.math("\(name) would hold \(megabytes(cells: Double(cells))), and one name holds at most "
                + "\(megabytes(cells: Double(MathEvaluator.maximumCells))) (\(MathEvaluator.maximumCells) numbers): name a slice instead")
        }
        let others = learnerNames.filter { $0.key != name }.values.reduce(0) { $0 + $1.cellCount }
        guard others + cells <= Self.maximumLearnerCells else {
            throw NotebookError.math("\(name) would hold \(megabytes(cells: Double(cells))), and your names then \(megabytes(cells: Double(others + cells))), "
                + "more than the \(megabytes(cells: Double(Self.maximumLearnerCells))) they may hold together: del a name you no longer need, or reuse one (names lists them)")
        }
    }

    /// `del NAME …`: forgets names the learner bound, freeing what they hold.
    func deleteNames(_ names: [String]) throws -> String {
        for name in names where learnerNames[name] == nil {
            if modelNames.contains(name) || Step(rawValue: name) != nil || Self.explanationNames.contains(name) {
                throw NotebookError.math("\(shown(name)) is the model's own name: del forgets only the names you bound (names lists them)")
            }
            let suggestion = closestName(to: name, in: learnerNames.keys.sorted()).map { ": did you mean \($0)?" } ?? " (names lists yours)"
            throw NotebookError.math("you have no name '\(shown(name))'\(suggestion)")
        }
        let freed = names.reduce(0) { $0 + (learnerNames[$1]?.cellCount ?? 0) }
        for name in names {
            learnerNames[name] = nil
            learnerLabels[name] = nil
            learnerDefinitions[name] = nil
        }
        return "deleted \(names.joined(separator: ", ")) (\(megabytes(cells: Double(freed)))); your names hold "
            + "\(megabytes(cells: Double(learnerCells))) of \(megabytes(cells: Double(Self.maximumLearnerCells)))\n"
    }

    /// How a value of the learner's math is labelled: tokens where its rows (or columns) are the
    /// sentence's, else numbers. A slice keeps the labels of what it was cut from, and a learner's
    /// name the labels it was made with.
    func labels(of value: MathValue, _ expression: MathExpression, line: String) -> MathLabels {
        guard case let .matrix(m) = value else { return MathLabels() }
        if let stored = storedLabels(expression, rows: m.rows, columns: m.columns) { return stored }
        let slice = sliceOfWhole(expression, line: line)
        let tokens = cachedTokens
        let whole = slice?.whole ?? m
        let rows = slice?.rows ?? 0..<m.rows, columns = slice?.columns ?? 0..<m.columns
        // lime's and classify's numbers are labelled by words and labels, never by tokens.
        if let explained = explanationLabels(expression, columns: whole.columns) {
            return MathLabels(columns: explained.map { Array($0[columns]) }, rowOffset: rows.lowerBound, columnOffset: columns.lowerBound)
        }
        let columnLabels = whole.columns == tokens.count ? Array(tokens[columns]) : nil
        return MathLabels(rows: whole.rows == tokens.count ? Array(tokens[rows]) : [], columns: columnLabels,
                          rowOffset: rows.lowerBound, columnOffset: columns.lowerBound,
                          shade: columnLabels != nil && whole.rows == tokens.count)
    }

    /// The labels of a learner's name that `expression` works on cell by cell (`A`, `-A`, `A + 1`,
    /// `(A * B)`), when they fit the result's shape.
    func storedLabels(_ expression: MathExpression, rows: Int, columns: Int) -> MathLabels? {
        switch expression {
        case let .name(name):
            guard let stored = learnerLabels[name], case let .matrix(m)? = learnerNames[name],
                  m.rows == rows, m.columns == columns else { return nil }
            return stored
        case let .parenthesized(inner, _), let .negate(inner, _):
            return storedLabels(inner, rows: rows, columns: columns)
        case let .binary(op, left, right, _) where op != .matrixProduct:
            return storedLabels(left, rows: rows, columns: columns) ?? storedLabels(right, rows: rows, columns: columns)
        default:
            return nil
        }
    }

    /// For a slice (`Q[2:4, 16:32]`, `weights[:, 3]`), the rows and columns of the whole that it
    /// keeps, so that its labels are the whole's: `cat sat` and 16…31, not 0 1 and 0…15.
    func sliceOfWhole(_ expression: MathExpression, line: String) -> (whole: Matrix, rows: Range<Int>, columns: Range<Int>)? {
        guard case let .index(base, subscripts, text) = expression, (1...2).contains(subscripts.count),
              case let .matrix(whole)? = try? evaluate(base, line: line),
              let names = try? boundValues(needed: identifiers(in: line)) else { return nil }
        let evaluator = mathEvaluator(names, needed: identifiers(in: line))
        let shape = MathShape(whole)
        guard let rows = try? evaluator.select(subscripts[0], axis: "row", count: whole.rows, shape: shape, text: String(text)),
              let columns = subscripts.count == 1 ? (range: 0..<whole.columns, single: false)
                : try? evaluator.select(subscripts[1], axis: "column", count: whole.columns, shape: shape, text: String(text))
        else { return nil }
        return (whole, rows.range, columns.range)
    }

    /// Evaluates with the names the line mentions; when one is unknown, again with every name, so
    /// that the error can suggest the closest.
    func evaluate(_ expression: MathExpression, line: String) throws -> MathValue {
        let needed = identifiers(in: line)
        let available = availableExplanationNames
        if let missing = Self.explanationNames.first(where: { needed.contains($0) && !available.contains($0) }) {
            throw explanationMissing(missing)
        }
        do {
            return try mathEvaluator(try boundValues(needed: needed), needed: needed).evaluate(expression)
        } catch let NotebookError.math(message) where message.hasPrefix("unknown name") {
            return try mathEvaluator(try boundValues(), needed: nil).evaluate(expression)
        }
    }

    /// An evaluator over `names` that computes as the selected model does (its ε), and binds
    /// `needed` at another head of the layer for `head(A, h)`.
    func mathEvaluator(_ names: [String: MathValue], needed: Set<String>?) -> MathEvaluator {
        var evaluator = MathEvaluator(names: names)
        if let model { evaluator.normalizationEpsilon = model.normalizationEpsilon }
        if let model {
            evaluator.headCount = model.sizes.heads
            evaluator.namesAtHead = { h in try self.boundValues(needed: needed, atHead: h) }
        }
        return evaluator
    }

    /// `check EXPR STEP`: the learner's value against the model's step, at this layer and head.
    /// `check EXPR STEP[slice]` compares with that part of the step: `check weights[1] @ V z[1]`.
    func check(_ expression: String, against stepName: String) throws -> String {
        let trace = try requireTrace()
        let name = String(stepName.prefix { $0 != "[" })
        var reference: Matrix
        if let step = Step(rawValue: name) {
            reference = try stepMatrix(trace, step)
        } else if Self.explanationNames.contains(name) {
            guard let value = try explanationValues(needed: [name])[name] else { throw explanationMissing(name) }
            reference = value.asMatrix
        } else {
            throw NotebookError.unknownStep(name, suggestion: nil)
        }
        var referenceExpression = MathExpression.name(name)
        if name != stepName, case let .evaluate(slice) = try MathParser.parse(stepName) {
            // The slice is the math's own: the step is bound under its name.
            reference = try evaluate(slice, line: stepName).asMatrix
            referenceExpression = slice
        }
        guard case let .evaluate(parsed) = try MathParser.parse(expression) else {
            throw NotebookError.math("check takes an expression, not an assignment: check A \(stepName)")
        }
        let value = try evaluate(parsed, line: expression)
        // The cells are named as the step shows them, and a slice's as the whole step's.
        let cells = labels(of: .matrix(reference), referenceExpression, line: stepName)
        let result = Check.compare(value, with: reference, stepName: stepName,
                                   rowLabels: cells.rows, columnLabels: cells.columns,
                                   rowOffset: cells.rowOffset, columnOffset: cells.columnOffset)
        var text = wrap(result.message) + "\n"
        if result.passed {
            // `check scores scores` is true, and teaches nothing: an exercise wants the step built
            // from what comes before it, not read from the model under its own name.
            // The names read, not the functions called: concat(heads(z)) builds concat.
            let answer = Set([name] + (Self.stepAliases[name].map { [$0] } ?? []))
            if waitingExercise == stepName, !parsed.names.isDisjoint(with: answer) {
                let used = parsed.names.intersection(answer).sorted().joined(separator: ", ")
                text += wrap("That reads \(used), the model's own answer; the exercise waits for \(name) built from the names before it.") + "\n"
            } else if waitingExercise == stepName, let block = waitingExerciseBlock,
                      let problem = directiveProblem(block, parsed, step: stepName) {
                text += wrap("✗ " + problem) + "\n"
            } else {
                text += exercisePassed(step: stepName)
            }
        }
        return text
    }

    /// Every name and function `expression` uses, itself or through the definitions of the
    /// learner's names in it, as they were when bound.
    func uses(of expression: MathExpression) -> Set<String> {
        let direct = expression.references
        return direct.reduce(direct) { $0.union(learnerDefinitions[$1]?.uses ?? []) }
    }

    /// What an exercise's `# forbid:` and `# require:` find wrong with the checked expression, as
    /// one sentence: `this exercise asks for weights without softmax: your E calls softmax`; nil
    /// when nothing.
    func directiveProblem(_ block: Lesson.Block, _ expression: MathExpression, step: String) -> String? {
        let direct = expression.references, all = uses(of: expression)
        func verb(_ word: String) -> String { MathSyntax.function(named: word) != nil ? "calls" : "uses" }
        var forbidden: [String] = [], clauses: [String] = []
        for word in block.forbidden where all.contains(word) {
            forbidden.append(word)
            // Name the learner's name that brings it in when the expression does not say it.
            let through = direct.contains(word) ? nil
                : direct.filter { learnerDefinitions[$0]?.uses.contains(word) == true }.sorted().first
            if let through, let definition = learnerDefinitions[through] {
                clauses.append("your \(through) \(verb(word)) \(word) (\(through) = \(MathError.abbreviated(definition.expression)))")
            } else {
                clauses.append("your expression \(verb(word)) \(word)")
            }
        }
        if !forbidden.isEmpty {
            return "this exercise asks for \(step) without \(Self.list(forbidden, or: true)): \(clauses.joined(separator: ", and "))"
        }
        for word in block.required where !all.contains(word) {
            let isModels = modelNames.contains(word) || Step(rawValue: word) != nil || MathSyntax.function(named: word) != nil
                || Self.explanationNames.contains(word)
            let what = isModels ? word : "your \(word)"
            let missing = isModels || learnerNames[word] != nil
                ? "your expression does not \(verb(word) == "calls" ? "call" : "use") \(word)"
                : "you have no \(word) yet: bind it with \(word) = …"
            return "this exercise asks for \(step) built with \(what): \(missing)"
        }
        return nil
    }

    /// The problem a lesson's exercise solution has with its own `# forbid:` and `# require:`,
    /// for `attn replay`: its last line is `check EXPR STEP`.
    public func solutionProblem(_ block: Lesson.Block, checkLine: String) -> String? {
        guard !(block.forbidden + block.required).isEmpty, let step = block.exercise,
              let check = Commands.command(checkLine) as? CheckCommand,
              case let .evaluate(e)? = try? MathParser.parse(check.expression) else { return nil }
        return directiveProblem(block, e, step: step)
    }

    /// `a`, `a or b`, `a, b or c` (or `and`).
    static func list(_ words: [String], or: Bool) -> String {
        guard words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + (or ? " or " : " and ") + (words.last ?? "")
    }

    /// The math's short names for steps: Q is the step q of the selected head, and so on.
    static let stepAliases: [String: String] = ["x": "X", "q": "Q", "k": "K", "v": "V", "z": "Z", "rmsnorm": "H"]

    /// `names`: what the learner can use, with shapes.
    func listNames() throws -> String {
        let values = try boundValues()
        let model = modelNames.compactMap { name in values[name].map { "\(name) \(describe($0))" } }
        var text = "the model's (layer \(layer), head \(head)):\n" + wrap(model.joined(separator: ",  "), indent: "  ") + "\n"
        text += "every step under its own name, e.g. scores, attn_out, out\n"
        let explained = ((try? explanationValues(needed: nil)) ?? [:]).sorted { $0.key < $1.key }
        if !explained.isEmpty {
            text += "from lime and classify:\n" + wrap(explained.map { "\($0.key) \(describe($0.value))" }.joined(separator: ",  "), indent: "  ") + "\n"
        }
        if !learnerNames.isEmpty {
            let mine = learnerNames.sorted { $0.key.compare($1.key, options: .numeric) == .orderedAscending }.map { "\($0.key) \(describe($0.value))" }
            text += "yours (\(megabytes(cells: Double(learnerCells))) of \(megabytes(cells: Double(Self.maximumLearnerCells))); del NAME forgets one):\n"
                + wrap(mine.joined(separator: ",  "), indent: "  ") + "\n"
        }
        return text
    }

    /// A number on its own: whole numbers without decimals (`dk` is 32, not 32.0000).
    func formatScalar(_ x: Float) -> String {
        if x.isFinite, x == x.rounded(), abs(x) < 1e7 { return String(Int(x)) }
        return renderer.format(x)
    }

    func describe(_ value: MathValue) -> String {
        switch value {
        case let .scalar(x): return formatScalar(x)
        case let .matrix(m): return m.shapeDescription
        }
    }

    /// A value as the learner sees it: a number, or a matrix with its labels.
    func render(_ value: MathValue, title: String, labels: MathLabels) -> String {
        switch value {
        case let .scalar(x):
            return "\(formatScalar(x))\n"
        case let .matrix(m) where m.rows == 1 && m.columns == 1:
            return "\(formatScalar(m.values[0]))\n"
        case let .matrix(m):
            let body: String
            if labels.shade, let columns = labels.columns {
                body = renderTokenMatrix(m, rowLabels: labels.rows, columnLabels: columns, rowOffset: labels.rowOffset,
                                         columnOffset: labels.columnOffset, title: title,
                                         location: "your math at layer \(layer), head \(head)")
            } else {
                body = renderer.render(m, rowLabels: labels.rows, columnLabels: labels.columns,
                                       rowOffset: labels.rowOffset, columnOffset: labels.columnOffset)
            }
            return "\(title)   \(m.shapeDescription)\n" + body + "\n"
        }
    }
}

extension MathValue {
    /// How many numbers the value holds: 1 for a number.
    var cellCount: Int {
        switch self {
        case .scalar: 1
        case let .matrix(m): m.rows * m.columns
        }
    }
}

/// How a learner's name was made: the expression as typed, and every name and function it used,
/// through the definitions of the learner's names in it (as they were then).
struct MathDefinition: Sendable {
    var expression: String
    var uses: Set<String>
}

/// The labels of a matrix of the learner's math: tokens for rows (or columns) that are the
/// sentence's, else numbers counted from an offset (a slice keeps the numbers of its whole).
struct MathLabels: Sendable {
    var rows: [String] = []
    var columns: [String]? = nil
    var rowOffset = 0
    var columnOffset = 0
    /// Heat shading, for token-by-token matrices such as the weights.
    var shade = false
}
