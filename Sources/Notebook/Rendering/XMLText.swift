/// Text as XML character data or an attribute value, for the SVG heatmaps and the HTML notebook.
enum XMLText {
    /// `text` escaped: `& < > " '` as entities; tab and line feed kept; the other control
    /// characters, which XML 1.0 forbids or a page would hide, and the bidirectional overrides,
    /// which would reorder what follows, written as `\u{…}` as the terminal shows them; U+FFFE and
    /// U+FFFF, which XML forbids too, as U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                if v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) {
                    out += "\\u{\(String(v, radix: 16))}"
                } else if v == 0xFFFE || v == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
