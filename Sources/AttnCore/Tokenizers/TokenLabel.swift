/// How a byte-level BPE token is shown: as a one-line label under the notebook's matrices.
extension BPETokenizer {
    /// A token's text made visible as a one-line label: a space is `·`, a line end `↵`, a tab `⇥`,
    /// other control characters `\u{…}`; an empty text is `∅`; a leading combining mark sits on `◌`.
    public static func visible(_ text: String) -> String {
        if text.isEmpty { return "∅" }
        // A token that starts with a combining mark (the keycap of 1️⃣ is U+FE0F U+20E3) would
        // join whatever is printed before it, `(` or a column's space: it is shown on a dotted
        // circle, ◌⃣, as type specimens show marks.
        var out = text.unicodeScalars.first.map(Self.isCombining) == true ? "◌" : ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case " ": out += "·"
            case "\n": out += "↵"
            case "\t": out += "⇥"
            case "\r": out += "␍"
            default:
                if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Whether `scalar` attaches to the character before it: a combining mark or a variation selector.
    static func isCombining(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: scalar.properties.isVariationSelector
        }
    }

    /// Token `id` as a label: ``visible(_:)`` of its text.
    public func label(_ id: Int) -> String { Self.visible(tokenText(id)) }
}
