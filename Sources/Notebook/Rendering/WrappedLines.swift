/// Breaks text at spaces into lines of at most `width` columns (a word longer than that gets a
/// line of its own). Later lines start with `indent`, the first with `first`.
func wrappedLines(_ text: String, width: Int, indent: String = "", first: String = "") -> [String] {
    var lines: [String] = [], line = first
    for word in unbreakableWords(text) {
        let fresh = line.allSatisfy { $0 == " " }
        if !fresh && MatrixRenderer.displayWidth(line + " " + word) > width {
            lines.append(line)
            line = indent + word
        } else {
            line += (fresh ? "" : " ") + word
        }
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}
