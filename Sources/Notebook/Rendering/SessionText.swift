/// Text that fits the terminal: lines broken at spaces to the renderer's width.
extension Session {
    /// Breaks a long line at spaces to fit the width; later lines start with `indent`, the first
    /// with `first`.
    func wrap(_ text: String, indent: String = "", first: String = "") -> String {
        wrappedLines(text, width: renderer.width, indent: indent, first: first).joined(separator: "\n")
    }

    /// A line as it is when it fits the width, else broken at spaces (a terminal would break it
    /// mid-word): later lines keep its indentation plus `indent`.
    func fit(_ line: String, indent: String = "  ") -> String {
        guard MatrixRenderer.displayWidth(line) > renderer.width else { return line }
        let leading = String(line.prefix { $0 == " " })
        return wrap(String(line.dropFirst(leading.count)), indent: leading + indent, first: leading)
    }

    /// A number in subscript digits: 11 → ₁₁.
    func subscripted(_ n: Int) -> String {
        let digits = Array("₀₁₂₃₄₅₆₇₈₉")
        return String(String(n).compactMap { $0.wholeNumberValue.map { digits[$0] } })
    }
}
