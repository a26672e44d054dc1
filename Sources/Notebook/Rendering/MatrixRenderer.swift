import AttnCore
import Foundation

/// Turns a matrix into text a learner can read: token labels, aligned columns, a fixed precision,
/// and NumPy-style summaries (`…`) where the matrix is wider or taller than the terminal allows.
///
/// ```
///              0        1        2    …      383
/// [CLS]   0.0123  -0.4567   1.2345    …   0.0042
/// the    …
/// ```
public struct MatrixRenderer: Sendable {
    /// The number of characters per line (80 when not a terminal).
    public var width: Int = 80
    /// Digits after the decimal point.
    public var precision: Int = 4
    /// The most rows shown before the middle rows are elided.
    public var maximumRows: Int = 40
    /// Whether token × token matrices get heat-shaded backgrounds (ANSI 256 colours).
    public var color: Bool = false
    /// The widest a column grows to show its token whole, when the width has room for every column.
    static let maximumLabelWidth = 12

    public init(width: Int = 80, precision: Int = 4, maximumRows: Int = 40, color: Bool = false) {
        self.width = width
        self.precision = precision
        self.maximumRows = maximumRows
        self.color = color
    }

    /// The body of a matrix: one header line of column labels, then one line per row.
    /// - Parameters:
    ///   - rowLabels: one label per row (tokens).
    ///   - columnLabels: one label per column (tokens, or dimension indices when `nil`).
    ///   - rowOffset / columnOffset: the index of the first row/column (for slices).
    ///   - shade: heat-shade the cells (when `color` is on), with a legend line after the matrix.
    ///   - layout: where rows or columns were left out before the matrix was given (a `focus`), and
    ///     whether NaN is a cell that does not exist (a band's beyond the sentence), shown blank.
    public func render(_ m: Matrix, rowLabels: [String], columnLabels: [String]? = nil,
                       rowOffset: Int = 0, columnOffset: Int = 0, shade: Bool = false, layout: Layout = Layout()) -> String {
        if m.rows == 0 || m.columns == 0 { return "(empty \(m.shapeDescription))\n" }
        let (lines, range) = runs(m, rowLabels: rowLabels, columnLabels: columnLabels,
                                  rowOffset: rowOffset, columnOffset: columnOffset, layout: layout)
        return text(lines, range: range, shade: shade)
    }

    /// How a matrix gathered from a larger one is laid out: a gap (`⋮`, `…`) before each of
    /// `rowGaps` and `columnGaps` (indices into the gathered matrix), where the rows or columns
    /// between were left out; NaN blank when `blankNaN`.
    public struct Layout: Sendable, Equatable {
        public var rowGaps: Set<Int> = []
        public var columnGaps: Set<Int> = []
        public var blankNaN = false
        public init(rowGaps: Set<Int> = [], columnGaps: Set<Int> = [], blankNaN: Bool = false) {
            (self.rowGaps, self.columnGaps, self.blankNaN) = (rowGaps, columnGaps, blankNaN)
        }
    }

    /// `indices` with a gap (nil) before each index in `gaps`, unless one is already there.
    static func withGaps(_ indices: [Int?], _ gaps: Set<Int>) -> [Int?] {
        guard !gaps.isEmpty else { return indices }
        var out: [Int?] = []
        for index in indices {
            if let index, gaps.contains(index), let last = out.last, last != nil { out.append(nil) }
            out.append(index)
        }
        return out
    }

    /// The text of `runs`' lines: heat-shaded, with the legend line after them, when `shade` is
    /// asked for and `color` is on.
    func text(_ lines: [[Run]], range: ClosedRange<Float>, shade: Bool) -> String {
        let heat = color && shade
        var text = lines.map { Self.text(of: $0, shaded: heat) }
        if heat { text.append(Self.text(of: legendRuns(range), shaded: true)) }
        return text.joined(separator: "\n") + "\n"
    }

    /// A piece of a rendered line: text, and for a matrix's cell its shade.
    struct Run: Sendable, Equatable {
        var text: String
        var shade: Shade?
    }

    /// How a cell is shaded: a level of the 256-colour grey ramp, or dimmed when masked (−∞).
    enum Shade: Sendable, Equatable {
        case level(Int)
        case masked
    }

    /// What of a matrix is shown, and how: its rows and columns in order (nil for a `⋮` or `…`,
    /// where the middle ones or a focus's gap are left out), the width of the row labels and of
    /// every cell, how a value is written, and the range of the finite values the shades span.
    struct Grid {
        let rows: [Int?], columns: [Int?]
        let labelWidth: Int, cellWidth: Int
        let format: (Float) -> String
        let range: ClosedRange<Float>
    }

    /// The label of row or column `i`: its token, or its index (from `offset`, for a slice).
    static func label(_ i: Int, _ labels: [String]?, offset: Int) -> String {
        if let labels, i < labels.count { return labels[i] }
        return String(i + offset)
    }

    /// The rows of a matrix of `count` rows that are shown: all of them, or the first and last
    /// halves of `maximumRows` around a `⋮` (nil).
    func shownRows(_ count: Int) -> [Int?] {
        Self.summarize(count: count, keep: maximumRows)
    }

    /// Whether every one of `count` rows is shown, no `⋮`.
    func showsEveryRow(_ count: Int) -> Bool {
        !shownRows(count).contains(nil)
    }

    /// Whether `m` is shown whole, every row and every column, with no `⋮` and no `…`: what a
    /// `focus` asks before it narrows a step. The rows are known before any value is read.
    func showsWhole(_ m: Matrix, rowLabels: [String], columnLabels: [String]?) -> Bool {
        guard showsEveryRow(m.rows) else { return false }
        return !grid(m, rowLabels: rowLabels, columnLabels: columnLabels, rowOffset: 0, columnOffset: 0).columns.contains(nil)
    }

    /// The grid `runs` draws `m` on (see ``Grid``).
    func grid(_ m: Matrix, rowLabels: [String], columnLabels: [String]?, rowOffset: Int, columnOffset: Int,
              layout: Layout = Layout()) -> Grid {
        let rows = Self.withGaps(shownRows(m.rows), layout.rowGaps)
        let labelWidth = rows.map { $0.map { Self.displayWidth(Self.label($0, rowLabels, offset: rowOffset)) } ?? 1 }.max() ?? 1

        // Whole numbers (indices from argmax, ids, counts) print without decimals.
        let whole = m.values.allSatisfy { !$0.isFinite || ($0 == $0.rounded() && abs($0) < 1e7) }
        let format: (Float) -> String = { (value: Float) -> String in
            if layout.blankNaN, value.isNaN { return "" }
            return whole && value.isFinite ? String(Int(value)) : self.format(value)
        }
        let range = Self.finiteRange(m.values)
        let available = width - labelWidth
        let cellWidth = self.cellWidth(m, range: range, format: format,
                                       columnLabels: columnLabels.map { _ in (0..<m.columns).map { Self.label($0, columnLabels, offset: columnOffset) } },
                                       columnOffset: columnOffset, available: available)
        // Each gap a focus left between columns takes a "  …" of its own.
        let columns = Self.withGaps(Self.columnsThatFit(m.columns, perColumn: cellWidth + 2,
                                                        available: available - 3 * layout.columnGaps.count),
                                    layout.columnGaps)
        return Grid(rows: rows, columns: columns, labelWidth: labelWidth, cellWidth: cellWidth, format: format, range: range)
    }

    /// The lines of `render` (without the shade legend) as runs, each cell a run with its shade, and
    /// the range of the finite values the shades span. The matrix is not empty.
    func runs(_ m: Matrix, rowLabels: [String], columnLabels: [String]?, rowOffset: Int, columnOffset: Int,
              layout: Layout = Layout()) -> (lines: [[Run]], range: ClosedRange<Float>) {
        let shown = grid(m, rowLabels: rowLabels, columnLabels: columnLabels, rowOffset: rowOffset,
                         columnOffset: columnOffset, layout: layout)
        let (labelWidth, cellWidth) = (shown.labelWidth, shown.cellWidth)

        var lines: [[Run]] = []
        var header = String(repeating: " ", count: labelWidth)
        for j in shown.columns {
            header += "  " + (j.map { Self.pad(Self.truncate(Self.label($0, columnLabels, offset: columnOffset), to: cellWidth), cellWidth) } ?? "…")
        }
        lines.append([Run(text: Self.trimTrailing(header))])
        for i in shown.rows {
            guard let i else {
                lines.append([Run(text: Self.pad("⋮", labelWidth))])
                continue
            }
            var line = [Run(text: Self.pad(Self.label(i, rowLabels, offset: rowOffset), labelWidth, alignLeft: true))]
            for j in shown.columns {
                guard let j else { line.append(Run(text: "  …")); continue }
                let value = m[i, j]
                // One space apart, one inside the shaded cell: "  0.1234" either way in plain text.
                line.append(Run(text: " "))
                line.append(Run(text: " " + Self.pad(shown.format(value), cellWidth),
                                shade: layout.blankNaN && value.isNaN ? nil : Self.shade(value, shown.range)))
            }
            lines.append(line)
        }
        return (lines.map(Self.merged), shown.range)
    }

    /// Neighbouring runs without a shade joined into one.
    static func merged(_ line: [Run]) -> [Run] {
        var out: [Run] = []
        for run in line {
            if run.shade == nil, let last = out.last, last.shade == nil {
                out[out.count - 1].text += run.text
            } else {
                out.append(run)
            }
        }
        return out
    }

    /// A line of runs as terminal text: the shaded runs with ANSI backgrounds when `shaded`.
    static func text(of line: [Run], shaded: Bool) -> String {
        line.map { run in
            guard shaded, let shade = run.shade else { return run.text }
            return ansi(run.text, shade)
        }.joined()
    }

    /// The width of every cell. The widest number decides it, so that columns align across the
    /// matrix; only the extremes can be the widest, so the rest need not be formatted to find out.
    /// Token labels may be truncated to the cell, but no cell is narrower than 6; when every column
    /// fits, cells widen to show whole labels, up to `maximumLabelWidth`.
    func cellWidth(_ m: Matrix, range: ClosedRange<Float>, format: (Float) -> String, columnLabels: [String]?,
                   columnOffset: Int, available: Int) -> Int {
        var numberWidth = max(Self.displayWidth(format(range.lowerBound)), Self.displayWidth(format(range.upperBound)))
        if m.values.contains(where: { !$0.isFinite }) { numberWidth = max(numberWidth, 3) }
        guard let columnLabels else { return max(numberWidth, Self.displayWidth(String(m.columns - 1 + columnOffset))) }
        let longest = columnLabels.map(Self.displayWidth).max() ?? 1
        let cellWidth = max(numberWidth, min(longest, max(numberWidth, 6)))
        let widest = max(cellWidth, min(longest, Self.maximumLabelWidth))
        return (cellWidth...widest).last(where: { m.columns * ($0 + 2) <= available }) ?? cellWidth
    }

    /// The columns shown: all of them, or the first and last halves around a `…` (nil).
    static func columnsThatFit(_ count: Int, perColumn: Int, available: Int) -> [Int?] {
        guard count * perColumn > available else { return Array(0..<count) }
        let fit = max(2, (available - 3) / perColumn)
        let head = (fit + 1) / 2, tail = fit / 2
        return Array(0..<head) + [nil] + Array((count - tail)..<count)
    }

    /// The smallest and largest finite values (0…0 when there are none).
    static func finiteRange(_ values: [Float]) -> ClosedRange<Float> {
        var low = Float.infinity, high = -Float.infinity
        for v in values where v.isFinite {
            low = Swift.min(low, v)
            high = Swift.max(high, v)
        }
        return low <= high ? low...high : 0...0
    }

    // MARK: Heat shading

    /// The 256-colour grey ramp runs from 232 (near black) to 255 (near white); larger values get
    /// darker cells, so the strongest attention stands out: level 255 for the smallest value, 234
    /// for the largest.
    static func shade(_ value: Float, _ range: ClosedRange<Float>) -> Shade {
        guard value.isFinite else { return .masked }
        let span = range.upperBound - range.lowerBound
        let t = span > 0 ? (value - range.lowerBound) / span : 0
        // t is NaN when the span overflows (−3e38…3e38): shade it as the lightest.
        return .level(255 - (roundedInt(t * 21, in: 0...21) ?? 0))  // 255 … 234
    }

    /// The ramp's foreground for a background level: white text on the dark cells.
    static func foreground(_ level: Int) -> Int { level < 244 ? 255 : 232 }

    /// The colour of a level of the 256-colour grey ramp, as xterm draws it: 232 is #080808, each
    /// level 10 lighter, 255 #eeeeee.
    static func greyHex(_ level: Int) -> String {
        let v = 8 + 10 * (min(max(level, 232), 255) - 232)
        return String(format: "#%02x%02x%02x", v, v, v)
    }

    /// `text` on its shade, in ANSI: a grey background (masked cells dim, unshaded).
    static func ansi(_ text: String, _ shade: Shade) -> String {
        switch shade {
        case .masked: return "\u{1B}[2m" + text + "\u{1B}[0m"
        case let .level(level): return "\u{1B}[48;5;\(level)m\u{1B}[38;5;\(foreground(level))m" + text + "\u{1B}[0m"
        }
    }

    /// `text` heat-shaded for `value` within `range`, in ANSI.
    static func shaded(_ text: String, _ value: Float, _ range: ClosedRange<Float>) -> String {
        ansi(text, shade(value, range))
    }

    /// One line: the shades from the smallest to the largest value.
    func legendRuns(_ range: ClosedRange<Float>) -> [Run] {
        let steps = 8
        var line = [Run(text: "shade: " + format(range.lowerBound) + " ")]
        for k in 0..<steps {
            let value = range.lowerBound + (range.upperBound - range.lowerBound) * Float(k) / Float(steps - 1)
            line.append(Run(text: "  ", shade: Self.shade(value, range)))
        }
        line.append(Run(text: " " + format(range.upperBound) + "   (darker = larger)"))
        return line
    }

    /// One number as the learner sees it: fixed precision; masked cells as −∞.
    public func format(_ value: Float) -> String {
        if value == -.infinity { return "−∞" }
        if value == .infinity { return "∞" }
        if value.isNaN { return "nan" }
        // Very large numbers (exp of a big score) in scientific notation, not 40 digits.
        if abs(value) >= 1e7 { return String(format: "%.\(max(1, precision - 1))e", Double(value)) }
        let text = String(format: "%.\(precision)f", Double(value))
        // "-0.0000" reads as a negative number; show it as zero.
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return String(text.dropFirst()) }
        return text
    }

    /// The indices to show of `count`, with `nil` where the middle is elided.
    static func summarize(count: Int, keep: Int) -> [Int?] {
        guard count > keep else { return Array(0..<count) }
        let head = keep / 2, tail = keep - head
        return Array(0..<head) + [nil] + Array((count - tail)..<count)
    }

    /// Terminal columns a string takes: East Asian wide characters and most emoji take two, and
    /// an escape sequence (`ESC [ 1 m`, bold) none.
    public static func displayWidth(_ s: String) -> Int {
        var inEscape = false
        return s.unicodeScalars.reduce(0) { total, scalar in
            let v = scalar.value
            if v == 0x1B { inEscape = true; return total }
            if inEscape {
                // A control sequence ends at its final byte, a letter (after ESC and its `[`).
                if scalar != "[" && (0x40...0x7E).contains(v) { inEscape = false }
                return total
            }
            if scalar.properties.generalCategory == .nonspacingMark || v == 0x200B || v == 0x200D || (0xFE00...0xFE0F).contains(v) {
                return total
            }
            let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
                || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
                || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1FAFF).contains(v) || (0x20000...0x3FFFD).contains(v)
            return total + (wide ? 2 : 1)
        }
    }

    static func pad(_ s: String, _ width: Int, alignLeft: Bool = false) -> String {
        let gap = max(0, width - displayWidth(s))
        return alignLeft ? s + String(repeating: " ", count: gap) : String(repeating: " ", count: gap) + s
    }

    /// Shortens a label to `width` columns, ending it with `…`.
    static func truncate(_ s: String, to width: Int) -> String {
        guard displayWidth(s) > width else { return s }
        var out = ""
        for character in s {
            if displayWidth(out + String(character)) > width - 1 { break }
            out.append(character)
        }
        return out + "…"
    }

    static func trimTrailing(_ s: String) -> String {
        var s = s
        while s.last == " " { s.removeLast() }
        return s
    }
}
