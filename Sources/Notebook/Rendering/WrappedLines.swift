/// Breaks text into lines of at most `width` columns (a piece longer than that gets a line of its
/// own). Later lines start with `indent`, the first with `first`.
///
/// English breaks at spaces. Chinese (and Japanese) text has no spaces: it may break between any
/// two of its characters, except before closing punctuation (`，。）”`) and after opening
/// punctuation (`（“`), which stay with the character they belong to.
func wrappedLines(_ text: String, width: Int, indent: String = "", first: String = "") -> [String] {
    var lines: [String] = [], line = first
    for piece in breakablePieces(text) {
        let fresh = line.allSatisfy { $0 == " " }
        let joined = line + (fresh || !piece.spaceBefore ? "" : " ") + piece.text
        if !fresh && MatrixRenderer.displayWidth(joined) > width {
            lines.append(line)
            line = indent + piece.text
        } else {
            line = joined
        }
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}

/// A piece of text no line break may cut, and whether a space separates it from the one before.
struct BreakablePiece: Equatable {
    var text: String
    var spaceBefore: Bool
}

/// The pieces of a text for wrapping: its words (``unbreakableWords(_:)``), each cut further
/// between ideographs (``isIdeographic(_:)``), where a line may break without a space.
func breakablePieces(_ text: String) -> [BreakablePiece] {
    var pieces: [BreakablePiece] = []
    for (n, word) in unbreakableWords(text).enumerated() {
        var piece = BreakablePiece(text: "", spaceBefore: n > 0)
        var previous: Character?
        for character in word {
            if let previous, isIdeographic(previous) || isIdeographic(character),
               !opensPhrase(previous), !closesPhrase(character) {
                pieces.append(piece)
                piece = BreakablePiece(text: "", spaceBefore: false)
            }
            piece.text.append(character)
            previous = character
        }
        pieces.append(piece)
    }
    return pieces
}

/// Whether a line may break beside `c` without a space: CJK ideographs and kana, and the
/// full-width punctuation written with them (the CJK ranges of ``MatrixRenderer/displayWidth(_:)``,
/// Hangul aside: Korean separates its words with spaces).
func isIdeographic(_ c: Character) -> Bool {
    guard let v = c.unicodeScalars.first?.value else { return false }
    return (0x2E80...0x9FFF).contains(v) || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v)
        || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v) || (0x20000...0x3FFFD).contains(v)
}

/// Punctuation no line may start with: it closes what comes before it (`，。、；：？！）」』”’》`).
func closesPhrase(_ c: Character) -> Bool {
    "，。、；：？！）」』】》〉”’…·,.;:?!)]}%".contains(c)
}

/// Punctuation no line may end with: it opens what comes after it (`（「『【《〈“‘`).
func opensPhrase(_ c: Character) -> Bool {
    "（「『【《〈“‘([{".contains(c)
}

/// Joins the source lines of one paragraph: with a space, as Markdown does, except between
/// Chinese characters (Chinese has no spaces between words: a line break in the source is not
/// one) and beside full-width punctuation (`。，（`, which carries its own space). Quotation marks
/// and ellipses count as Chinese beside an ideograph.
func joinedParagraph(_ lines: [String]) -> String {
    func chinese(_ c: Character, beside other: Character) -> Bool {
        isIdeographic(c) || ("“”‘’…—".contains(c) && isIdeographic(other))
    }
    func fullWidthPunctuation(_ c: Character) -> Bool {
        isIdeographic(c) && !c.isLetter && !c.isNumber
    }
    var text = ""
    for line in lines {
        if let last = text.last, let next = line.first, !(chinese(last, beside: next) && chinese(next, beside: last)),
           !fullWidthPunctuation(last), !fullWidthPunctuation(next) {
            text += " "
        }
        text += line
    }
    return text
}
