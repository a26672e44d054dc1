import AttnCore
import Foundation

/// A token × token matrix as a standalone SVG heatmap: labels on both axes, a colour legend, the
/// formula in the title and every cell's value on hover (`<title>`). Opens in any browser.
///
/// The colours are viridis (dark purple for the smallest value, yellow for the largest), which
/// reads the same in greyscale and to colour-blind eyes; masked cells (−∞) are light grey.
///
/// A matrix of more than ``rasterThreshold`` rows or columns (a long text) would take a million
/// `<rect>`s that no browser opens quickly: its grid is one `<image>`, a palette PNG of a pixel
/// per cell, or per block of cells (their mean) beyond ``maximumPixels`` a side, with every n-th
/// token labelled and the same colour scale.
struct SVGHeatmap {
    static let rasterThreshold = 256
    static let maximumPixels = 1024

    let matrix: Matrix
    let rowLabels: [String]
    let columnLabels: [String]
    let title: String
    let subtitle: String
    /// How a value is written in a cell and on hover.
    let format: (Float) -> String
    /// What the rows and columns are, for the hover text: a token × token step's queries and keys.
    var axes = (rows: "query", columns: "key")
    /// A text for each cell, row by row, written in it instead of its value where the cells are
    /// large enough (the logit lens's top token) and on hover before the value.
    var cellLabels: [String]? = nil

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
        svg += columnLabelGroup(layout) + rowLabelGroup(layout)
        svg += layout.raster == nil ? cellGroup(layout, scale) : imageGroup(layout, scale)
        if layout.showsValues || (cellLabels != nil && layout.showsLabels) { svg += valueGroup(layout, scale) }
        svg += legend(layout, scale, id: id)
        return svg + "</svg>\n"
    }

    /// Where everything goes, in px: labels left of and above the grid, the legend to its right.
    struct Layout {
        static let fontSize = 12.0, characterWidth = 7.3, titleHeight = 52.0, legendWidth = 16.0
        let rows: Int, columns: Int
        /// The side of a cell in px (below 1 for a raster of many cells).
        let cell: Double
        /// For a large matrix: the cells per pixel a side (1 or more) and the pixels it takes.
        let raster: (block: Int, width: Int, height: Int)?
        /// Every how many rows and columns a label is written (1: all).
        let labelStep: Int
        let left: Double, top: Double
        let legendX: Double, legendHeight: Double
        let width: Double, height: Double
        /// Whether the cells are large and few enough to write each value in its cell.
        var showsValues: Bool { cell >= 36 && rows <= 16 && columns <= 16 }
        /// Whether cells are large enough for a short label each (``SVGHeatmap/cellLabels``).
        var showsLabels: Bool { raster == nil && cell >= 20 }

        static func textWidth(_ s: String) -> Double { Double(MatrixRenderer.displayWidth(s)) * characterWidth }

        init(_ heatmap: SVGHeatmap) {
            rows = heatmap.matrix.rows
            columns = heatmap.matrix.columns
            let side = max(rows, columns, 1)
            if side > SVGHeatmap.rasterThreshold {
                let block = (side + SVGHeatmap.maximumPixels - 1) / SVGHeatmap.maximumPixels
                let raster = (block: block, width: (columns + block - 1) / block, height: (rows + block - 1) / block)
                self.raster = raster
                // Each pixel drawn 1 px, or 2 px for a matrix of up to 512 cells a side.
                let pixelSide = max(raster.width, raster.height) <= 512 ? 2.0 : 1.0
                cell = pixelSide / Double(block)
                labelStep = Int((Self.fontSize * 1.5 / cell).rounded(.up))
            } else {
                raster = nil
                cell = min(40, max(10, (640 / Double(side)).rounded(.down)))
                labelStep = 1
            }
            let step = labelStep
            let rowLabelWidth = (heatmap.rowLabels.enumerated().map { Layout.textWidth(heatmap.label($1, index: $0, step: step)) }.max() ?? 0) + 10
            let columnLabelHeight = (heatmap.columnLabels.enumerated().map { Layout.textWidth(heatmap.label($1, index: $0, step: step)) }.max() ?? 0) + 10
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

    /// A token's label as drawn: itself, or, when only every n-th token is labelled, its position
    /// and at most 16 columns of it (`1200 ·the`).
    func label(_ token: String, index: Int, step: Int) -> String {
        step == 1 ? token : "\(index) " + MatrixRenderer.truncate(token, to: 16)
    }

    /// The keys' labels, turned to read upwards, ending just above their column.
    func columnLabelGroup(_ layout: Layout) -> String {
        var svg = "<g class=\"column-labels\">\n"
        for j in stride(from: 0, to: layout.columns, by: layout.labelStep) {
            let x = layout.left + layout.cell * (Double(j) + 0.5) + Layout.fontSize / 3, y = layout.top - 6
            let text = label(columnLabels[j], index: j, step: layout.labelStep)
            svg += "<text transform=\"translate(\(Self.n(x)),\(Self.n(y))) rotate(-90)\">\(XMLText.escape(text))<title>key \(j): \(XMLText.escape(columnLabels[j]))</title></text>\n"
        }
        return svg + "</g>\n"
    }

    /// The queries' labels, right-aligned left of their row.
    func rowLabelGroup(_ layout: Layout) -> String {
        var svg = "<g class=\"row-labels\" text-anchor=\"end\">\n"
        for i in stride(from: 0, to: layout.rows, by: layout.labelStep) {
            let y = layout.top + layout.cell * (Double(i) + 0.5) + Layout.fontSize / 3
            let text = label(rowLabels[i], index: i, step: layout.labelStep)
            svg += "<text x=\"\(Self.n(layout.left - 6))\" y=\"\(Self.n(y))\">\(XMLText.escape(text))<title>query \(i): \(XMLText.escape(rowLabels[i]))</title></text>\n"
        }
        return svg + "</g>\n"
    }

    /// The grid of a large matrix as one image: a palette PNG of a pixel per cell or per block of
    /// cells (the mean of its finite values; masked when all of them are), drawn without smoothing.
    func imageGroup(_ layout: Layout, _ scale: Scale) -> String {
        guard let raster = layout.raster else { return "" }
        let png = PNGImage(width: raster.width, height: raster.height, pixels: Self.pixels(matrix, raster, scale),
                           palette: Self.palette).encoded()
        let (width, height) = (layout.cell * Double(layout.columns), layout.cell * Double(layout.rows))
        let what = raster.block == 1 ? "one pixel per cell" : "one pixel per \(raster.block) × \(raster.block) cells, their mean"
        return """
            <g class="cells"><image x="\(Self.n(layout.left))" y="\(Self.n(layout.top))" width="\(Self.n(width))" height="\(Self.n(height))" \
            preserveAspectRatio="none" image-rendering="pixelated" style="image-rendering: pixelated" \
            href="data:image/png;base64,\(Data(png).base64EncodedString())"><title>\(layout.rows) × \(layout.columns) cells, \(what); export the step for its values</title></image></g>

            """
    }

    /// The palette: 255 viridis levels (index 0 the smallest value, 254 the largest), then the
    /// masked cells' grey (255).
    static let palette: [(UInt8, UInt8, UInt8)] = (0..<255).map { k -> (UInt8, UInt8, UInt8) in
        let hex = colour(Double(k) / 254)
        let value = UInt32(hex.dropFirst(), radix: 16) ?? 0
        return (UInt8(value >> 16), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF))
    } + [(0xd9, 0xd9, 0xd9)]

    /// Each pixel's palette index: the mean of its block's finite values on the scale, 255 when
    /// every cell of the block is masked.
    static func pixels(_ matrix: Matrix, _ raster: (block: Int, width: Int, height: Int), _ scale: Scale) -> [UInt8] {
        var pixels = [UInt8](repeating: 255, count: raster.width * raster.height)
        for y in 0..<raster.height {
            for x in 0..<raster.width {
                var sum = 0.0, count = 0
                for i in (y * raster.block)..<min(matrix.rows, (y + 1) * raster.block) {
                    for j in (x * raster.block)..<min(matrix.columns, (x + 1) * raster.block) {
                        let v = matrix[i, j]
                        if v.isFinite { sum += Double(v); count += 1 }
                    }
                }
                guard count > 0 else { continue }
                let t = min(max(scale.position(Float(sum / Double(count))), 0), 1)
                pixels[y * raster.width + x] = UInt8((t * 254).rounded())
            }
        }
        return pixels
    }

    /// A coloured square per cell, its value on hover.
    func cellGroup(_ layout: Layout, _ scale: Scale) -> String {
        var svg = "<g class=\"cells\" stroke=\"#ffffff\" stroke-width=\"0.5\">\n"
        for i in 0..<layout.rows {
            for j in 0..<layout.columns {
                let v = matrix[i, j]
                let fill = v.isFinite ? Self.colour(scale.position(v)) : Self.maskedColour
                let value = v == -.infinity ? "−∞ (masked)" : format(v)
                let shown = cellLabels.map { "\($0[i * layout.columns + j]) (\(value))" } ?? value
                let row = axes.rows.isEmpty ? rowLabels[i] : "\(axes.rows) \(rowLabels[i])"
                let column = axes.columns.isEmpty ? columnLabels[j] : "\(axes.columns) \(columnLabels[j])"
                let hover = "[\(i), \(j)] \(row) → \(column): \(shown)"
                svg += "<rect class=\"cell\" x=\"\(Self.n(layout.left + layout.cell * Double(j)))\" y=\"\(Self.n(layout.top + layout.cell * Double(i)))\" "
                    + "width=\"\(Self.n(layout.cell))\" height=\"\(Self.n(layout.cell))\" fill=\"\(fill)\"><title>\(XMLText.escape(hover))</title></rect>\n"
            }
        }
        return svg + "</g>\n"
    }

    /// Each value written in its cell, white on the dark colours and black on the light ones.
    func valueGroup(_ layout: Layout, _ scale: Scale) -> String {
        let size = cellLabels != nil && !layout.showsValues ? "7" : "9"
        var svg = "<g class=\"values\" text-anchor=\"middle\" font-size=\"\(size)\" pointer-events=\"none\">\n"
        for i in 0..<layout.rows {
            for j in 0..<layout.columns {
                let v = matrix[i, j]
                let dark = v.isFinite && scale.position(v) < 0.55
                let x = layout.left + layout.cell * (Double(j) + 0.5), y = layout.top + layout.cell * (Double(i) + 0.5) + 3
                svg += "<text x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" fill=\"\(dark ? "#ffffff" : "#000000")\">\(XMLText.escape(cellText(i, j, v, layout)))</text>\n"
            }
        }
        return svg + "</g>\n"
    }

    /// What a cell says: its label cut to fit (about 1 character per 6 px), or its value.
    func cellText(_ i: Int, _ j: Int, _ v: Float, _ layout: Layout) -> String {
        if let cellLabels { return MatrixRenderer.truncate(cellLabels[i * layout.columns + j], to: max(2, Int(layout.cell / 5))) }
        return v == -.infinity ? "−∞" : format(v)
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
