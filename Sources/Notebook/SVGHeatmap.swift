import AttnCore
import Foundation

/// A token × token matrix as a standalone SVG heatmap: labels on both axes, a colour legend, the
/// formula in the title and every cell's value on hover (`<title>`). Opens in any browser.
///
/// The colours are viridis (dark purple for the smallest value, yellow for the largest), which
/// reads the same in greyscale and to colour-blind eyes; masked cells (−∞) are light grey.
struct SVGHeatmap {
    let matrix: Matrix
    let rowLabels: [String]
    let columnLabels: [String]
    let title: String
    let subtitle: String
    /// How a value is written in a cell and on hover.
    let format: (Float) -> String

    /// Viridis at nine evenly spaced points, from matplotlib's table.
    static let stops: [(Double, Double, Double)] = [
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
        (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
    ]
    static let maskedColour = "#d9d9d9"

    /// The colour of `t` in 0…1, interpolated between the stops.
    static func colour(_ t: Double) -> String {
        let x = (t.isNaN ? 0 : min(max(t, 0), 1)) * Double(stops.count - 1)
        let k = min(Int(x), stops.count - 2)
        let f = x - Double(k)
        let (a, b) = (stops[k], stops[k + 1])
        func channel(_ p: Double, _ q: Double) -> Int { Int((p + (q - p) * f).rounded()) }
        return String(format: "#%02x%02x%02x", channel(a.0, b.0), channel(a.1, b.1), channel(a.2, b.2))
    }

    /// Text as XML character data or an attribute value: `& < > " '` escaped, and the control
    /// characters XML 1.0 forbids replaced by U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// A coordinate with one decimal, so the same matrix gives the same bytes.
    static func n(_ x: Double) -> String { String(format: "%.1f", x) }

    func render() -> String {
        let t = matrix.rows, u = matrix.columns
        let cell = min(40, max(10, (640 / Double(max(t, u, 1))).rounded(.down)))
        let fontSize = 12.0, characterWidth = 7.3
        func textWidth(_ s: String) -> Double { Double(MatrixRenderer.displayWidth(s)) * characterWidth }
        let rowLabelWidth = (rowLabels.map(textWidth).max() ?? 0) + 10
        let columnLabelHeight = (columnLabels.map(textWidth).max() ?? 0) + 10
        let titleHeight = 52.0
        let left = 16 + rowLabelWidth, top = titleHeight + columnLabelHeight
        let gridWidth = cell * Double(u), gridHeight = cell * Double(t)
        let legendX = left + gridWidth + 24, legendWidth = 16.0
        let legendHeight = max(gridHeight, 120)
        // The title is 15 px bold sans-serif and the subtitle 12 px sans-serif: wider per character.
        let width = max(legendX + legendWidth + 90, textWidth(title) * 1.3 + 32, textWidth(subtitle + " · rows: queries, columns: keys") + 32)
        let height = top + legendHeight + 40

        let range = MatrixRenderer.finiteRange(matrix.values)
        let span = Double(range.upperBound - range.lowerBound)
        func position(_ v: Float) -> Double { span > 0 ? Double(v - range.lowerBound) / span : 0 }
        let showValues = cell >= 36 && t <= 16 && u <= 16
        let hasMasked = matrix.values.contains { $0 == -.infinity }

        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.n(width))" height="\(Self.n(height))" \
            viewBox="0 0 \(Self.n(width)) \(Self.n(height))" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" \
            font-size="\(Self.n(fontSize))">
            <title>\(Self.escape(title))</title>
            <rect x="0" y="0" width="\(Self.n(width))" height="\(Self.n(height))" fill="#ffffff"/>
            <text x="16" y="22" font-size="15" font-family="sans-serif" font-weight="bold" xml:space="preserve">\(Self.escape(title))</text>
            <text x="16" y="42" font-size="12" font-family="sans-serif" fill="#444444">\(Self.escape(subtitle)) · rows: queries, columns: keys</text>

            """
        // Column labels, turned to read upwards, ending just above their column.
        svg += "<g class=\"column-labels\">\n"
        for j in 0..<u {
            let x = left + cell * (Double(j) + 0.5) + fontSize / 3, y = top - 6
            svg += "<text transform=\"translate(\(Self.n(x)),\(Self.n(y))) rotate(-90)\">\(Self.escape(columnLabels[j]))<title>key \(j): \(Self.escape(columnLabels[j]))</title></text>\n"
        }
        svg += "</g>\n<g class=\"row-labels\" text-anchor=\"end\">\n"
        for i in 0..<t {
            let y = top + cell * (Double(i) + 0.5) + fontSize / 3
            svg += "<text x=\"\(Self.n(left - 6))\" y=\"\(Self.n(y))\">\(Self.escape(rowLabels[i]))<title>query \(i): \(Self.escape(rowLabels[i]))</title></text>\n"
        }
        svg += "</g>\n<g class=\"cells\" stroke=\"#ffffff\" stroke-width=\"0.5\">\n"
        for i in 0..<t {
            for j in 0..<u {
                let v = matrix[i, j]
                let fill = v.isFinite ? Self.colour(position(v)) : Self.maskedColour
                let hover = "[\(i), \(j)] query \(rowLabels[i]) → key \(columnLabels[j]): \(v == -.infinity ? "−∞ (masked)" : format(v))"
                svg += "<rect class=\"cell\" x=\"\(Self.n(left + cell * Double(j)))\" y=\"\(Self.n(top + cell * Double(i)))\" "
                    + "width=\"\(Self.n(cell))\" height=\"\(Self.n(cell))\" fill=\"\(fill)\"><title>\(Self.escape(hover))</title></rect>\n"
            }
        }
        svg += "</g>\n"
        if showValues {
            svg += "<g class=\"values\" text-anchor=\"middle\" font-size=\"9\" pointer-events=\"none\">\n"
            for i in 0..<t {
                for j in 0..<u {
                    let v = matrix[i, j]
                    let dark = v.isFinite && position(v) < 0.55
                    let x = left + cell * (Double(j) + 0.5), y = top + cell * (Double(i) + 0.5) + 3
                    svg += "<text x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" fill=\"\(dark ? "#ffffff" : "#000000")\">\(Self.escape(v == -.infinity ? "−∞" : format(v)))</text>\n"
                }
            }
            svg += "</g>\n"
        }

        // The legend: the colour scale from the largest value (top) to the smallest (bottom).
        svg += "<defs><linearGradient id=\"scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n"
        for (k, _) in Self.stops.enumerated() {
            let offset = Double(k) / Double(Self.stops.count - 1)
            svg += "<stop offset=\"\(Self.n(offset * 100))%\" stop-color=\"\(Self.colour(offset))\"/>\n"
        }
        svg += "</linearGradient></defs>\n<g class=\"legend\">\n"
        svg += "<rect x=\"\(Self.n(legendX))\" y=\"\(Self.n(top))\" width=\"\(Self.n(legendWidth))\" height=\"\(Self.n(legendHeight))\" fill=\"url(#scale)\" stroke=\"#888888\" stroke-width=\"0.5\"/>\n"
        let ticks: [(Double, Float)] = [(0, range.upperBound), (0.5, (range.lowerBound + range.upperBound) / 2), (1, range.lowerBound)]
        for (fraction, value) in ticks {
            let y = top + legendHeight * fraction
            svg += "<line x1=\"\(Self.n(legendX + legendWidth))\" y1=\"\(Self.n(y))\" x2=\"\(Self.n(legendX + legendWidth + 4))\" y2=\"\(Self.n(y))\" stroke=\"#888888\"/>\n"
            svg += "<text x=\"\(Self.n(legendX + legendWidth + 7))\" y=\"\(Self.n(y + 4))\">\(Self.escape(format(value)))</text>\n"
        }
        if hasMasked {
            let y = top + legendHeight + 12
            svg += "<rect x=\"\(Self.n(legendX))\" y=\"\(Self.n(y))\" width=\"\(Self.n(legendWidth))\" height=\"12\" fill=\"\(Self.maskedColour)\" stroke=\"#888888\" stroke-width=\"0.5\"/>\n"
            svg += "<text x=\"\(Self.n(legendX + legendWidth + 7))\" y=\"\(Self.n(y + 10))\">−∞ masked</text>\n"
        }
        svg += "</g>\n</svg>\n"
        return svg
    }
}
