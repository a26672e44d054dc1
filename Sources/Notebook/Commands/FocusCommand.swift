import AttnCore
import Foundation

/// `focus TOKEN…`, `focus N…`, `focus`, `focus off`: which rows and columns of a token × token
/// step a long sentence shows, when the step is too large to show whole.
struct FocusCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["focus"], synopsis: ["focus TOKEN|N …    focus off", "STEP top K    STEP band W"],
        help: [("focus", "focus TOKEN … or focus N …: when a token × token step is too large to show whole (more than 40 query rows, or more keys than the width holds), show the rows and columns around these tokens, \(Session.focusRadius) each side, and the first key, instead of the first and last ones. A token as tokens shows it (·Paris, or Paris), wherever it occurs; a number is a position (tokens lists them), negative from the end. focus alone says what it selects; focus off ends it. It stays for the next sentence. See also STEP top K and STEP band W."),
               ("top", "STEP top K (weights top 3, scores top 5): for each query row, the K keys where the row is largest, with their positions and values, for a sentence too long to show whole; the focused rows when focus is set, else every row up to 40. Masked keys are left out."),
               ("band", "STEP band W (weights band 4): the keys within W positions of each query, as columns i−W … i (… i+W on an encoder), the diagonal band where previous-token heads and local layers look; blank where the band leaves the sentence.")])
    var setsLessonState: Bool { true }

    enum Action: Equatable {
        case describe
        case off
        case set([String])
    }

    var action: Action

    init(word: String, arguments: String) throws {
        let words = arguments.split(whereSeparator: \.isWhitespace).map(String.init)
        switch words {
        case []: action = .describe
        case ["off"]: action = .off
        default:
            guard words.count <= Session.maximumFocus else {
                throw NotebookError.usage(command: "focus", usage: "focus at most \(Session.maximumFocus) tokens or positions at once")
            }
            action = .set(words)
        }
    }

    func run(in session: Session) throws -> String {
        switch action {
        case .off:
            session.focus = []
            return "focus off: a long step shows its first and last rows and columns\n"
        case let .set(specs):
            let trace = try session.requireTrace()
            let (positions, missing) = session.focusPositions(specs, in: trace)
            if let first = missing.first {
                throw NotebookError.math("focus \(first): no token of this sentence is \(first); tokens lists them, or give a position 0…\(trace.count - 1)")
            }
            session.focus = specs
            return session.describeFocus(positions, in: trace)
        case .describe:
            guard !session.focus.isEmpty else {
                return "no focus: a long step shows its first and last rows and columns (focus TOKEN to choose)\n"
            }
            let trace = try session.requireTrace()
            return session.describeFocus(session.focusPositions(session.focus, in: trace).positions, in: trace)
        }
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        let tokens = request.session.cachedTokens
        return request.matching(["off"] + Array(Set(tokens)).sorted())
    }
}

// MARK: - Views of a long T × T step

extension Session {
    /// Rows and columns shown each side of a focused position.
    static let focusRadius = 2
    /// The most tokens or positions one `focus` names.
    static let maximumFocus = 8

    /// The positions `specs` name in `trace`, in order, and the specs that name none. A number
    /// is a position (negative from the end); a word is a token as shown (`·Paris`), or without
    /// its `·`, or in another case when nothing matches exactly (an uncased vocabulary's).
    func focusPositions(_ specs: [String], in trace: Trace) -> (positions: [Int], missing: [String]) {
        var positions = Set<Int>(), missing: [String] = []
        for spec in specs {
            var found: [Int] = []
            if let n = Int(spec) {
                found = Slice.position(n, count: trace.count).map { [$0] } ?? []
            } else {
                let exact = trace.tokens.indices.filter { trace.tokens[$0] == spec || trace.tokens[$0] == "·" + spec }
                found = exact.isEmpty
                    ? trace.tokens.indices.filter { trace.tokens[$0].lowercased() == spec.lowercased()
                        || trace.tokens[$0].lowercased() == "·" + spec.lowercased() }
                    : exact
            }
            if found.isEmpty { missing.append(spec) }
            positions.formUnion(found)
        }
        return (positions.sorted(), missing)
    }

    /// The positions within `focusRadius` of any of `positions`, in order.
    static func around(_ positions: [Int], count: Int) -> [Int] {
        var shown = Set<Int>()
        for p in positions { shown.formUnion(max(0, p - focusRadius)..<min(count, p + focusRadius + 1)) }
        return shown.sorted()
    }

    /// `3…7, 12, 40…44`: sorted positions as runs.
    static func runs(_ positions: [Int]) -> String {
        var parts: [String] = []
        var start: Int?, previous: Int?
        for p in positions + [Int.min] {
            if let s = start, let q = previous, p != q + 1 {
                parts.append(s == q ? "\(s)" : "\(s)…\(q)")
                start = nil
            }
            if p != Int.min, start == nil { start = p }
            previous = p
        }
        return parts.joined(separator: ", ")
    }

    func describeFocus(_ positions: [Int], in trace: Trace) -> String {
        let rows = Self.around(positions, count: trace.count)
        var text = "focus \(focus.joined(separator: " ")): position\(positions.count == 1 ? "" : "s") \(Self.runs(positions)) of \(trace.count)\n"
        var note = ""
        let (whole, tooLarge) = tokenStepsShownWhole(trace)
        if tooLarge.isEmpty {
            note = "; this sentence's \(trace.count) tokens fit, so every step shows whole"
        } else if !whole.isEmpty {
            // Every row fits (the steps are all T × T), but some steps' numbers are too wide for every column.
            note = "; this sentence's \(trace.count) tokens fit, and of this head's steps only \(Self.list(tooLarge.map(\.rawValue), or: false)) "
                + (tooLarge.count == 1 ? "is" : "are") + " too wide to show whole"
        }
        text += wrap("a token × token step too large to show whole shows rows \(Self.runs(rows)), the first key and the keys around them that fit the width" + note) + "\n"
        return text
    }

    /// The token × token steps of the selected head that the renderer shows whole, and those it
    /// would summarize (`⋮`, `…`), which a focus narrows: the renderer decides, for each step's
    /// own numbers and tokens.
    func tokenStepsShownWhole(_ trace: Trace) -> (whole: [Step], tooLarge: [Step]) {
        var whole: [Step] = [], tooLarge: [Step] = []
        for step in availableSteps where step.isTokenByToken {
            guard let m = trace.matrix(step, layer: layer, head: head) else { continue }
            if renderer.showsWhole(m, rowLabels: trace.tokens, columnLabels: trace.tokens) {
                whole.append(step)
            } else {
                tooLarge.append(step)
            }
        }
        return (whole, tooLarge)
    }

    /// A token × token step at the focused rows and columns, when the renderer would not show it
    /// whole and a focus names tokens of this sentence; nil otherwise.
    func focusedTokenMatrix(_ step: Step, _ full: Matrix, trace: Trace) -> String? {
        guard !focus.isEmpty, !renderer.showsWhole(full, rowLabels: trace.tokens, columnLabels: trace.tokens) else { return nil }
        let positions = focusPositions(focus, in: trace).positions
        guard !positions.isEmpty else {
            return fit("focus \(focus.joined(separator: " ")) finds no token of this sentence: the first and last rows") + "\n"
                + renderTokenMatrix(full, rowLabels: trace.tokens, columnLabels: trace.tokens,
                                    title: formula(step, full), location: "layer \(layer), head \(head)")
        }
        let rows = Self.around(positions, count: trace.count)
        let columns = focusedColumns(rows, full, trace: trace)
        var values: [Float] = []
        values.reserveCapacity(rows.count * columns.count)
        for i in rows { for j in columns { values.append(full[i, j]) } }
        let gathered = Matrix(rows: rows.count, columns: columns.count, values: values)
        func gaps(_ indices: [Int]) -> Set<Int> { Set(indices.indices.dropFirst().filter { indices[$0] != indices[$0 - 1] + 1 }) }
        var text = wrap("focus \(focus.joined(separator: " ")): rows \(Self.runs(rows)); columns \(Self.runs(columns))"
            + (columns.count < Set([0] + rows).count ? " (as many as the width holds)" : "") + " of \(trace.count)") + "\n"
        text += renderTokenMatrix(gathered, rowLabels: rows.map { positionLabel($0, trace) },
                                  columnLabels: columns.map { trace.tokens[$0] },
                                  title: formula(step, full), location: "layer \(layer), head \(head), focus \(focus.joined(separator: " "))",
                                  layout: MatrixRenderer.Layout(rowGaps: gaps(rows), columnGaps: gaps(columns)))
        return text
    }

    /// A row's label in a long view: its position, aligned, and its token: ` 7 ·heard`.
    func positionLabel(_ i: Int, _ trace: Trace) -> String {
        MatrixRenderer.pad(String(i), String(trace.count - 1).count) + " " + trace.tokens[i]
    }

    /// The key columns a focused step shows: the first key (where many heads rest), then those
    /// around the focused positions, in order, as many as the width holds.
    func focusedColumns(_ rows: [Int], _ full: Matrix, trace: Trace) -> [Int] {
        let labelWidth = rows.map { MatrixRenderer.displayWidth(positionLabel($0, trace)) }.max() ?? 1
        let range = MatrixRenderer.finiteRange(full.values)
        let perColumn = max(6, renderer.format(range.lowerBound).count, renderer.format(range.upperBound).count) + 2
        var columns = [0], used = perColumn
        for j in rows where j != 0 {
            let cost = perColumn + (j == columns[columns.count - 1] + 1 ? 0 : 3)  // a gap's "  …"
            guard used + cost <= renderer.width - labelWidth else { break }
            columns.append(j)
            used += cost
        }
        return columns
    }

    /// The query rows a long view lists: the focused ones, or every row up to the renderer's
    /// most (first and last, with nil where the middle is left out).
    func listedRows(_ trace: Trace) -> [Int?] {
        if !focus.isEmpty {
            let positions = focusPositions(focus, in: trace).positions
            if !positions.isEmpty {
                let rows = Self.around(positions, count: trace.count)
                return rows.indices.flatMap { k -> [Int?] in k > 0 && rows[k] != rows[k - 1] + 1 ? [nil, rows[k]] : [rows[k]] }
            }
        }
        return renderer.shownRows(trace.count)
    }

    /// `STEP top K`: for each listed query row, the K keys where it is largest.
    ///
    /// ```
    /// top_K(row i) = the K keys j with the largest step[i, j], masked keys left out; ties to the earlier key
    /// ```
    func showTop(_ step: Step, keys k: Int) throws -> String {
        guard step.isTokenByToken else {
            throw NotebookError.math("\(step.rawValue) top \(k): top lists keys of a token × token step (scores, scaled, masked, weights)")
        }
        guard (1...50).contains(k) else { throw NotebookError.usage(command: "top", usage: "\(step.rawValue) top K, 1 ≤ K ≤ 50") }
        let trace = try requireTrace()
        let full = try stepMatrix(trace, step)
        let masked = try stepMatrix(trace, .masked)
        let t = trace.count
        let range = MatrixRenderer.finiteRange(full.values)
        let positionWidth = String(t - 1).count
        let tokenWidth = min(10, trace.tokens.map(MatrixRenderer.displayWidth).max() ?? 1)
        let valueWidth = max(renderer.format(range.lowerBound).count, renderer.format(range.upperBound).count)
        let labelWidth = positionWidth + 1 + tokenWidth
        let cellWidth = positionWidth + 1 + tokenWidth + 1 + valueWidth
        let fitting = max(1, (renderer.width - labelWidth) / (cellWidth + 2))
        let shown = min(k, fitting, t)

        var text = fit("\(formula(step, full)): the \(k) largest key\(k == 1 ? "" : "s") of each query row   \(full.shapeDescription)") + "\n"
        text += fit("layer \(layer), head \(head)" + (shown < min(k, t) ? "; \(shown) fit the width" : "")) + "\n"
        var lines: [[MatrixRenderer.Run]] = []
        var header = MatrixRenderer.pad("query", labelWidth, alignLeft: true)
        for rank in 1...shown { header += "  " + MatrixRenderer.pad(Self.ordinal(rank), cellWidth, alignLeft: true) }
        lines.append([.init(text: MatrixRenderer.trimTrailing(header))])
        for i in listedRows(trace) {
            guard let i else { lines.append([.init(text: MatrixRenderer.pad("⋮", positionWidth))]); continue }
            let row = full.row(i), allowed = masked.row(i)
            let keys = (0..<t).filter { allowed[$0] != -.infinity && row[$0].isFinite }
                .sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }
                .prefix(shown)
            var line: [MatrixRenderer.Run] = [.init(text: MatrixRenderer.pad(String(i), positionWidth) + " "
                + MatrixRenderer.pad(MatrixRenderer.truncate(trace.tokens[i], to: tokenWidth), tokenWidth, alignLeft: true))]
            for j in keys {
                line.append(.init(text: "  " + MatrixRenderer.pad(String(j), positionWidth) + " "
                    + MatrixRenderer.pad(MatrixRenderer.truncate(trace.tokens[j], to: tokenWidth), tokenWidth, alignLeft: true) + " "))
                line.append(.init(text: MatrixRenderer.pad(renderer.format(row[j]), valueWidth),
                                  shade: MatrixRenderer.shade(row[j], range)))
            }
            lines.append(MatrixRenderer.merged(line))
        }
        text += renderer.text(lines, range: range, shade: true)
        return text + "\n"
    }

    /// `1st`, `2nd`, `3rd`, `4th`, … `11th`, `21st`.
    static func ordinal(_ n: Int) -> String {
        let suffix = (11...13).contains(n % 100) ? "th" : [1: "st", 2: "nd", 3: "rd"][n % 10] ?? "th"
        return "\(n)\(suffix)"
    }

    /// `STEP band W`: the keys within W positions of each query, one column per offset.
    ///
    /// ```
    /// band[i, o] = step[i, i + o]    o = −W … 0 (a decoder) or −W … W (an encoder); blank off the sentence
    /// ```
    func showBand(_ step: Step, width w: Int) throws -> String {
        guard step.isTokenByToken else {
            throw NotebookError.math("\(step.rawValue) band \(w): band shows the diagonal of a token × token step (scores, scaled, masked, weights)")
        }
        let trace = try requireTrace()
        guard (1...32).contains(w), w < trace.count else {
            throw NotebookError.usage(command: "band", usage: "\(step.rawValue) band W, 1 ≤ W ≤ \(min(32, max(1, trace.count - 1))) positions each side")
        }
        let full = try stepMatrix(trace, step)
        let offsets = Array(-w...(trace.isCausal ? 0 : w))
        let rows = listedRows(trace).compactMap { $0 }
        var values: [Float] = []
        values.reserveCapacity(rows.count * offsets.count)
        for i in rows {
            for o in offsets { values.append((0..<trace.count).contains(i + o) ? full[i, i + o] : .nan) }
        }
        let band = Matrix(rows: rows.count, columns: offsets.count, values: values)
        let labels = offsets.map { $0 == 0 ? "i" : $0 < 0 ? "i−\(-$0)" : "i+\($0)" }
        let gaps = Set(rows.indices.dropFirst().filter { rows[$0] != rows[$0 - 1] + 1 })
        var text = fit("\(formula(step, full)): the band of keys \(labels[0])…\(labels[labels.count - 1]) around each query i   \(full.shapeDescription)") + "\n"
        text += fit("layer \(layer), head \(head); each column is a key's offset from its query, blank off the sentence") + "\n"
        text += renderTokenMatrix(band, rowLabels: rows.map { positionLabel($0, trace) }, columnLabels: labels,
                                  title: formula(step, full) + ", band", location: "layer \(layer), head \(head)",
                                  layout: MatrixRenderer.Layout(rowGaps: gaps, blankNaN: true))
        return text + "\n"
    }
}
