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

    public init(width: Int = 80, precision: Int = 4, maximumRows: Int = 40) {
        self.width = width
        self.precision = precision
        self.maximumRows = maximumRows
    }

    /// The body of a matrix: one header line of column labels, then one line per row.
    /// - Parameters:
    ///   - rowLabels: one label per row (tokens).
    ///   - columnLabels: one label per column (tokens, or dimension indices when `nil`).
    ///   - columnOffset / rowOffset: the index of the first column/row (for slices).
    public func render(_ m: Matrix, rowLabels: [String], columnLabels: [String]? = nil,
                       rowOffset: Int = 0, columnOffset: Int = 0) -> String {
        if m.rows == 0 || m.columns == 0 { return "(empty \(m.shapeDescription))\n" }
        let rowIndices = Self.summarize(count: m.rows, keep: maximumRows)
        let labelWidth = rowIndices.map { $0.map { Self.displayWidth(label(rowLabels, $0, rowOffset)) } ?? 1 }.max() ?? 1
        let columnLabel: (Int) -> String = { j in
            if let columnLabels, j < columnLabels.count { return columnLabels[j] }
            return String(j + columnOffset)
        }

        // The widest number decides every cell's width, so that columns align across the matrix.
        let cells = m.values.map(format)
        let numberWidth = cells.map(Self.displayWidth).max() ?? 1
        let cellWidth: Int
        if columnLabels == nil {
            cellWidth = max(numberWidth, Self.displayWidth(String(m.columns - 1 + columnOffset)))
        } else {
            // Token labels may be truncated to the cell, but no cell is narrower than 6.
            let longest = (0..<m.columns).map { Self.displayWidth(columnLabel($0)) }.max() ?? 1
            cellWidth = max(numberWidth, min(longest, max(numberWidth, 6)))
        }

        // How many columns fit: all of them, or the first and last halves around a `…`.
        let available = width - labelWidth
        let perColumn = cellWidth + 2
        var columnIndices: [Int?] = Array(0..<m.columns)
        if m.columns * perColumn > available {
            let fit = max(2, (available - 3) / perColumn)
            let head = (fit + 1) / 2, tail = fit / 2
            columnIndices = Array(0..<head) + [nil] + Array((m.columns - tail)..<m.columns)
        }

        var lines: [String] = []
        var header = String(repeating: " ", count: labelWidth)
        for j in columnIndices {
            header += "  " + (j.map { Self.pad(Self.truncate(columnLabel($0), to: cellWidth), cellWidth) } ?? "…")
        }
        lines.append(Self.trimTrailing(header))
        for i in rowIndices {
            guard let i else {
                lines.append(Self.pad("⋮", labelWidth))
                continue
            }
            var line = Self.pad(label(rowLabels, i, rowOffset), labelWidth, alignLeft: true)
            for j in columnIndices {
                line += "  " + (j.map { Self.pad(cells[i * m.columns + $0], cellWidth) } ?? "…")
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One number as the learner sees it: fixed precision; masked cells as −∞.
    public func format(_ value: Float) -> String {
        if value == -.infinity { return "−∞" }
        if value == .infinity { return "∞" }
        if value.isNaN { return "nan" }
        let text = String(format: "%.\(precision)f", Double(value))
        // "-0.0000" reads as a negative number; show it as zero.
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return String(text.dropFirst()) }
        return text
    }

    private func label(_ labels: [String], _ i: Int, _ offset: Int) -> String {
        i < labels.count ? labels[i] : String(i + offset)
    }

    /// The indices to show of `count`, with `nil` where the middle is elided.
    static func summarize(count: Int, keep: Int) -> [Int?] {
        guard count > keep else { return Array(0..<count) }
        let head = keep / 2, tail = keep - head
        return Array(0..<head) + [nil] + Array((count - tail)..<count)
    }

    /// Terminal columns a string takes: East Asian wide characters and most emoji take two.
    public static func displayWidth(_ s: String) -> Int {
        s.unicodeScalars.reduce(0) { total, scalar in
            let v = scalar.value
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
