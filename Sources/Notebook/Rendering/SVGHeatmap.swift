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

    /// A coordinate with one decimal, so the same matrix gives the same bytes.
    static func n(_ x: Double) -> String { String(format: "%.1f", x) }

    /// The whole SVG document.
    func render() -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element(id: "scale")
    }

    /// The `<svg>` element alone, for a page that holds several: `id` names its colour scale's
    /// gradient, which must be unique in the page.
    func element(id: String) -> String {
        let layout = Layout(self)
        let scale = Scale(range: MatrixRenderer.finiteRange(matrix.values))
        var svg = header(layout)
        svg += columnLabelGroup(layout) + rowLabelGroup(layout) + cellGroup(layout, scale)
        if layout.showsValues { svg += valueGroup(layout, scale) }
        svg += legend(layout, scale, id: id)
        return svg + "</svg>\n"
    }

    /// Where everything goes, in px: labels left of and above the grid, the legend to its right.
    struct Layout {
        static let fontSize = 12.0, characterWidth = 7.3, titleHeight = 52.0, legendWidth = 16.0
        let rows: Int, columns: Int
        let cell: Double
        let left: Double, top: Double
        let legendX: Double, legendHeight: Double
        let width: Double, height: Double
        /// Whether the cells are large and few enough to write each value in its cell.
        var showsValues: Bool { cell >= 36 && rows <= 16 && columns <= 16 }

        static func textWidth(_ s: String) -> Double { Double(MatrixRenderer.displayWidth(s)) * characterWidth }

        init(_ heatmap: SVGHeatmap) {
            rows = heatmap.matrix.rows
            columns = heatmap.matrix.columns
            cell = min(40, max(10, (640 / Double(max(rows, columns, 1))).rounded(.down)))
            let rowLabelWidth = (heatmap.rowLabels.map(Self.textWidth).max() ?? 0) + 10
            let columnLabelHeight = (heatmap.columnLabels.map(Self.textWidth).max() ?? 0) + 10
            left = 16 + rowLabelWidth
            top = Self.titleHeight + columnLabelHeight
            let gridWidth = cell * Double(columns), gridHeight = cell * Double(rows)
            legendX = left + gridWidth + 24
            legendHeight = max(gridHeight, 120)
            // The title is 15 px bold sans-serif and the subtitle 12 px sans-serif: wider per character.
            width = max(legendX + Self.legendWidth + 90, Self.textWidth(heatmap.title) * 1.3 + 32,
                        Self.textWidth(heatmap.subtitle + " · rows: queries, columns: keys") + 32)
            height = top + legendHeight + 40
        }
    }

    /// Where a value falls between the smallest and the largest finite value, 0…1.
    struct Scale {
        let range: ClosedRange<Float>

        func position(_ v: Float) -> Double {
            let span = Double(range.upperBound - range.lowerBound)
            return span > 0 ? Double(v - range.lowerBound) / span : 0
        }
    }

    /// The `<svg>` element's start, a white background, title and subtitle.
    func header(_ layout: Layout) -> String {
        let (width, height) = (Self.n(layout.width), Self.n(layout.height))
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" \
            viewBox="0 0 \(width) \(height)" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" \
            font-size="\(Self.n(Layout.fontSize))">
            <title>\(XMLText.escape(title))</title>
            <rect x="0" y="0" width="\(width)" height="\(height)" fill="#ffffff"/>
            <text x="16" y="22" font-size="15" font-family="sans-serif" font-weight="bold" xml:space="preserve">\(XMLText.escape(title))</text>
            <text x="16" y="42" font-size="12" font-family="sans-serif" fill="#444444">\(XMLText.escape(subtitle)) · rows: queries, columns: keys</text>

            """
    }

    /// The keys' labels, turned to read upwards, ending just above their column.
    func columnLabelGroup(_ layout: Layout) -> String {
        var svg = "<g class=\"column-labels\">\n"
        for j in 0..<layout.columns {
            let x = layout.left + layout.cell * (Double(j) + 0.5) + Layout.fontSize / 3, y = layout.top - 6
            svg += "<text transform=\"translate(\(Self.n(x)),\(Self.n(y))) rotate(-90)\">\(XMLText.escape(columnLabels[j]))<title>key \(j): \(XMLText.escape(columnLabels[j]))</title></text>\n"
        }
        return svg + "</g>\n"
    }

    /// The queries' labels, right-aligned left of their row.
    func rowLabelGroup(_ layout: Layout) -> String {
        var svg = "<g class=\"row-labels\" text-anchor=\"end\">\n"
        for i in 0..<layout.rows {
            let y = layout.top + layout.cell * (Double(i) + 0.5) + Layout.fontSize / 3
            svg += "<text x=\"\(Self.n(layout.left - 6))\" y=\"\(Self.n(y))\">\(XMLText.escape(rowLabels[i]))<title>query \(i): \(XMLText.escape(rowLabels[i]))</title></text>\n"
        }
        return svg + "</g>\n"
    }

    /// A coloured square per cell, its value on hover.
    func cellGroup(_ layout: Layout, _ scale: Scale) -> String {
        var svg = "<g class=\"cells\" stroke=\"#ffffff\" stroke-width=\"0.5\">\n"
        for i in 0..<layout.rows {
            for j in 0..<layout.columns {
                let v = matrix[i, j]
                let fill = v.isFinite ? Self.colour(scale.position(v)) : Self.maskedColour
                let hover = "[\(i), \(j)] query \(rowLabels[i]) → key \(columnLabels[j]): \(v == -.infinity ? "−∞ (masked)" : format(v))"
                svg += "<rect class=\"cell\" x=\"\(Self.n(layout.left + layout.cell * Double(j)))\" y=\"\(Self.n(layout.top + layout.cell * Double(i)))\" "
                    + "width=\"\(Self.n(layout.cell))\" height=\"\(Self.n(layout.cell))\" fill=\"\(fill)\"><title>\(XMLText.escape(hover))</title></rect>\n"
            }
        }
        return svg + "</g>\n"
    }

    /// Each value written in its cell, white on the dark colours and black on the light ones.
    func valueGroup(_ layout: Layout, _ scale: Scale) -> String {
        var svg = "<g class=\"values\" text-anchor=\"middle\" font-size=\"9\" pointer-events=\"none\">\n"
        for i in 0..<layout.rows {
            for j in 0..<layout.columns {
                let v = matrix[i, j]
                let dark = v.isFinite && scale.position(v) < 0.55
                let x = layout.left + layout.cell * (Double(j) + 0.5), y = layout.top + layout.cell * (Double(i) + 0.5) + 3
                svg += "<text x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" fill=\"\(dark ? "#ffffff" : "#000000")\">\(XMLText.escape(v == -.infinity ? "−∞" : format(v)))</text>\n"
            }
        }
        return svg + "</g>\n"
    }

    /// The colour scale from the largest value (top) to the smallest (bottom), and the masked
    /// cells' grey when there are any.
    func legend(_ layout: Layout, _ scale: Scale, id: String) -> String {
        let (x, top, width, height) = (layout.legendX, layout.top, Layout.legendWidth, layout.legendHeight)
        var svg = "<defs><linearGradient id=\"\(id)\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n"
        for (k, _) in Self.stops.enumerated() {
            let offset = Double(k) / Double(Self.stops.count - 1)
            svg += "<stop offset=\"\(Self.n(offset * 100))%\" stop-color=\"\(Self.colour(offset))\"/>\n"
        }
        svg += "</linearGradient></defs>\n<g class=\"legend\">\n"
        svg += "<rect x=\"\(Self.n(x))\" y=\"\(Self.n(top))\" width=\"\(Self.n(width))\" height=\"\(Self.n(height))\" fill=\"url(#\(id))\" stroke=\"#888888\" stroke-width=\"0.5\"/>\n"
        let range = scale.range
        let ticks: [(Double, Float)] = [(0, range.upperBound), (0.5, (range.lowerBound + range.upperBound) / 2), (1, range.lowerBound)]
        for (fraction, value) in ticks {
            let y = top + height * fraction
            svg += "<line x1=\"\(Self.n(x + width))\" y1=\"\(Self.n(y))\" x2=\"\(Self.n(x + width + 4))\" y2=\"\(Self.n(y))\" stroke=\"#888888\"/>\n"
            svg += "<text x=\"\(Self.n(x + width + 7))\" y=\"\(Self.n(y + 4))\">\(XMLText.escape(format(value)))</text>\n"
        }
        if matrix.values.contains(where: { $0 == -.infinity }) {
            let y = top + height + 12
            svg += "<rect x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" width=\"\(Self.n(width))\" height=\"12\" fill=\"\(Self.maskedColour)\" stroke=\"#888888\" stroke-width=\"0.5\"/>\n"
            svg += "<text x=\"\(Self.n(x + width + 7))\" y=\"\(Self.n(y + 10))\">−∞ masked</text>\n"
        }
        return svg + "</g>\n"
    }
}
