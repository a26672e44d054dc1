import Foundation

/// Signed values as a standalone SVG bar chart, one horizontal bar per label from a zero line:
/// positive to the right in blue, negative to the left in orange (a pair that colour-blind eyes
/// tell apart), each value written beside its bar and on hover. What `plot lime` draws.
struct SVGBarChart {
    let labels: [String]
    let values: [Double]
    let title: String
    let subtitle: String

    static let positiveColour = "#1f77b4", negativeColour = "#ff7f0e"
    static let barHeight = 22.0, gap = 6.0, halfWidth = 260.0

    /// The whole SVG document.
    func render() -> String {
        let n = SVGHeatmap.n
        let e = XMLText.escape
        let labelWidth = (labels.map(SVGHeatmap.Layout.textWidth).max() ?? 0) + 16
        let zero = 16 + labelWidth + Self.halfWidth + 70
        let top = 64.0
        let rows = Double(labels.count)
        let width = max(zero + Self.halfWidth + 90, SVGHeatmap.Layout.textWidth(title) * 1.3 + 32, SVGHeatmap.Layout.textWidth(subtitle) + 32)
        let height = top + rows * (Self.barHeight + Self.gap) + 40
        let largest = values.map(abs).max() ?? 0
        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" \
            viewBox="0 0 \(n(width)) \(n(height))" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12.0">
            <title>\(e(title))</title>
            <rect x="0" y="0" width="\(n(width))" height="\(n(height))" fill="#ffffff"/>
            <text x="16" y="22" font-size="15" font-family="sans-serif" font-weight="bold" xml:space="preserve">\(e(title))</text>
            <text x="16" y="42" font-size="12" font-family="sans-serif" fill="#444444">\(e(subtitle))</text>
            <g class="bars">

            """
        for (i, (label, value)) in zip(labels, values).enumerated() {
            let y = top + Double(i) * (Self.barHeight + Self.gap)
            let length = largest > 0 ? abs(value) / largest * Self.halfWidth : 0
            let x = value < 0 ? zero - length : zero
            let colour = value < 0 ? Self.negativeColour : Self.positiveColour
            let number = String(format: "%+.4f", value)
            let middle = y + Self.barHeight / 2 + 4
            svg += "<text x=\"\(n(16 + labelWidth - 8))\" y=\"\(n(middle))\" text-anchor=\"end\">\(e(label))</text>\n"
            svg += "<rect class=\"bar\" x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(length))\" height=\"\(n(Self.barHeight))\" fill=\"\(colour)\"><title>\(e(label)): \(number)</title></rect>\n"
            let textX = value < 0 ? zero - length - 6 : zero + length + 6
            svg += "<text x=\"\(n(textX))\" y=\"\(n(middle))\" text-anchor=\"\(value < 0 ? "end" : "start")\">\(number)</text>\n"
        }
        svg += "</g>\n"
        svg += "<line x1=\"\(n(zero))\" y1=\"\(n(top - 6))\" x2=\"\(n(zero))\" y2=\"\(n(top + rows * (Self.barHeight + Self.gap)))\" stroke=\"#444444\"/>\n"
        return svg + "</svg>\n"
    }
}
