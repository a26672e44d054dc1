/// How a byte-level BPE tokenizer cuts text into pieces before BPE merges inside each piece.
///
/// BPE never merges across a piece boundary, so these rules decide, for instance, that `" the"`
/// can become one token but `"the."` cannot. Both rules end with GPT-2's regex, which Hugging Face
/// `tokenizers` applies in its `ByteLevel` pre-tokenizer (`use_regex: true`):
/// ```
/// 's|'t|'re|'ve|'m|'ll|'d | ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+ | \s+(?!\S) | \s+
/// ```
/// read left to right, first alternative that matches wins:
/// ```
/// "I'm  fine,thanks!!\n"  →  "I"  "'m"  " "  " fine"  ","  "thanks"  "!!"  "\n"
///                             letters, a contraction, a space left behind (the last space of a
///                             run goes with the word after it), punctuation runs, whitespace
/// ```
/// Contractions match in lower case only: `"I'M"` is `"I"`, `"'"`, `"M"`.
///
/// `smollm` first puts every digit in a piece of its own (Hugging Face's
/// `Digits(individual_digits: true)`), then applies the regex to the stretches between digits.
/// A digit ends the stretch before it, so whitespace in front of a digit is a run at the end:
/// ```
///              "a  12"                        "2024"
/// gpt2     →   "a"  " "  " 12"                "2024"
/// smollm   →   "a"  "  "  "1"  "2"            "2"  "0"  "2"  "4"
/// ```
///
/// Classes of characters are those of the libraries Hugging Face uses, which know Unicode 16.0
/// (the regex, Oniguruma) and 17.0 (`Digits`, Rust's `char::is_numeric`); see `characterClass`.
/// With that, the classes agree with `tokenizers` 0.23.3 on every one of the 1,112,064 code
/// points, which was checked once, exhaustively, when this file was written.
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// GPT-2's regex alone (`tokenizer.ggml.pre = "gpt2"`).
    case gpt2
    /// Every digit alone, then GPT-2's regex (`tokenizer.ggml.pre = "smollm"`; SmolLM2's
    /// tokenizer.json: `Digits(individual_digits)` then `ByteLevel`).
    case smollm

    /// The pieces of `text`, in order; together they are `text`.
    ///
    /// ```
    /// PreTokenizer.smollm.split("Room 101.")  →  ["Room", " ", "1", "0", "1", "."]
    /// ```
    public func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        forEachPiece(of: scalars, in: 0..<scalars.count) { range in
            pieces.append(String(String.UnicodeScalarView(scalars[range])))
        }
        return pieces
    }

    /// Calls `body` with the range of each piece of `scalars[range]`, in order.
    func forEachPiece(of scalars: [Unicode.Scalar], in range: Range<Int>, _ body: (Range<Int>) -> Void) {
        switch self {
        case .gpt2:
            Self.regexSplit(scalars, range, body)
        case .smollm:
            var start = range.lowerBound
            for index in range where Self.isNumeric(scalars[index]) {
                Self.regexSplit(scalars, start..<index, body)
                body(index..<index + 1)
                start = index + 1
            }
            Self.regexSplit(scalars, start..<range.upperBound, body)
        }
    }

    // MARK: - GPT-2's regex, by hand

    /// GPT-2's regex over `scalars[range]`, as if that were the whole text.
    ///
    /// A hand-written matcher for the one regex, so that the Unicode tables are Swift's (held to
    /// Hugging Face's version) and the work is a single pass without backtracking.
    static func regexSplit(_ scalars: [Unicode.Scalar], _ range: Range<Int>, _ body: (Range<Int>) -> Void) {
        var start = range.lowerBound
        while start < range.upperBound {
            let end = matchEnd(scalars, from: start, limit: range.upperBound)
            body(start..<end)
            start = end
        }
    }

    /// Where the regex's match starting at `start` ends; every position starts a match, because
    /// every character is a letter, a number, whitespace or something else.
    static func matchEnd(_ scalars: [Unicode.Scalar], from start: Int, limit: Int) -> Int {
        let first = scalars[start]

        // 's|'t|'re|'ve|'m|'ll|'d — lower case only, as written.
        if first == "'", start + 1 < limit {
            switch scalars[start + 1] {
            case "s", "t", "m", "d":
                return start + 2
            case "r", "v", "l":
                let expected: Unicode.Scalar = scalars[start + 1] == "l" ? "l" : "e"
                if start + 2 < limit, scalars[start + 2] == expected { return start + 3 }
            default:
                break
            }
        }

        // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": an optional space (U+0020 only), then a
        // run of one class. The space is taken only when a run follows it.
        var runStart = start
        if first == " ", start + 1 < limit, characterClass(scalars[start + 1]) != .whitespace {
            runStart = start + 1
        }
        let runClass = characterClass(scalars[runStart])
        if runClass != .whitespace {
            var end = runStart + 1
            while end < limit, characterClass(scalars[end]) == runClass { end += 1 }
            return end
        }

        // "\s+(?!\S)": a whitespace run, less its last character when something follows it, so
        // that the last space goes with the next word; "\s+": a lone whitespace character.
        var end = start + 1
        while end < limit, characterClass(scalars[end]) == .whitespace { end += 1 }
        if end == limit || end == start + 1 { return end }
        return end - 1
    }

    // MARK: - Character classes, as Hugging Face's libraries know them

    enum CharacterClass: UInt8 {
        case letter, number, whitespace, other
    }

    /// `\p{L}`, `\p{N}`, `\s` or none of them, in the regex library of `tokenizers` (Oniguruma,
    /// Unicode 16.0).
    ///
    /// Letters are categories Lu Ll Lt Lm Lo; numbers Nd Nl No; whitespace is Unicode's
    /// `White_Space` (tab…carriage return, space, U+0085, NBSP, U+1680, U+2000…U+200A, U+2028,
    /// U+2029, U+202F, U+205F, U+3000). A code point assigned after Unicode 16.0 is unassigned to
    /// Oniguruma, so it is `other` even when Swift, which may know a newer Unicode, calls it a
    /// letter (U+A7CE, a Latin letter of Unicode 17.0) or a number (U+11DE0).
    static func characterClass(_ scalar: Unicode.Scalar) -> CharacterClass {
        if scalar.value < 0x80 { return asciiClasses[Int(scalar.value)] }
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        guard let age = properties.age, (age.major, age.minor) <= (16, 0) else { return .other }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    static let asciiClasses: [CharacterClass] = (0..<128).map { value in
        switch value {
        case 0x41...0x5A, 0x61...0x7A: .letter
        case 0x30...0x39: .number
        case 0x09...0x0D, 0x20: .whitespace
        default: .other
        }
    }

    /// A digit to `Digits`: Rust's `char::is_numeric` (categories Nd Nl No), in the Unicode of
    /// the Rust that built `tokenizers` (17.0). Not just 0–9: `"½"`, `"Ⅻ"`, `"٣"` and `"²"`
    /// are pieces of their own too.
    static func isNumeric(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return (0x30...0x39).contains(scalar.value) }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber:
            guard let age = properties.age else { return false }
            return (age.major, age.minor) <= (17, 0)
        default:
            return false
        }
    }
}
