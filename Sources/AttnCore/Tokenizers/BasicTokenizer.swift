import Foundation  // NFD: `decomposedStringWithCanonicalMapping`

/// The first half of BERT tokenization: clean the text, then cut it into words and punctuation.
///
/// It reproduces Hugging Face `tokenizers` (the Rust library behind `AutoTokenizer`), whose
/// `BertNormalizer` and `BertPreTokenizer` run these steps in this order:
/// ```
/// "Héllo,\tWORLD 中文!"
///   1. clean      drop NUL, U+FFFD and invisible control characters; any whitespace → " "
///   2. CJK        put a space on both sides of every CJK ideograph:  "中文" → " 中  文 "
///   3. accents    decompose (NFD), drop nonspacing marks:  "é" → "e" + U+0301 → "e"
///   4. lowercase  "WORLD" → "world"
///   5. split      at whitespace (dropped), around each punctuation character (kept)
/// → ["hello", ",", "world", "中", "文", "!"]
/// ```
/// Each step looks at one Unicode scalar (code point) at a time, as Rust's `char` does, never at
/// Swift's `Character` (a whole grapheme cluster, which can hold several code points).
///
/// "Unicode" here means the Unicode that `tokenizers` knows: its character tables are from
/// Unicode 8.0 (categories) and 9.0 (decomposition), so code points added since are plain letters
/// to it (see `category(_:)`). With that, the steps agree with `tokenizers` 0.23.3 on every one of
/// the 1,112,064 code points, which was checked once, exhaustively, when this file was written.
///
/// Which of steps 1–4 run is `normalization`'s choice; a cased BERT skips 3 and 4.
public struct BasicTokenizer: Sendable {
    /// The cleaning steps this tokenizer takes.
    public let normalization: BertNormalization

    /// A basic tokenizer with the given steps; by default BERT-uncased's: clean, split CJK,
    /// strip accents, lowercase.
    ///
    /// ```
    /// BasicTokenizer().split("Héllo!")                                       →  ["hello", "!"]
    /// BasicTokenizer(normalization: .init(lowercase: false)).split("Héllo!")  →  ["Héllo", "!"]
    /// ```
    public init(normalization: BertNormalization = BertNormalization()) {
        self.normalization = normalization
    }

    /// Words and punctuation marks of `text`, normalised, in order.
    ///
    /// ```
    /// split("Don't panic!")  →  ["don", "'", "t", "panic", "!"]
    /// ```
    /// - Parameter text: any text; nothing in it is an error.
    /// - Returns: the pieces WordPiece will cut further; empty for empty or all-whitespace text.
    public func split(_ text: String) -> [String] {
        var pieces: [String] = []
        var word = String.UnicodeScalarView()

        // A word ends at whitespace or punctuation; an empty word is never emitted.
        func endWord() {
            if !word.isEmpty {
                pieces.append(String(word))
                word = String.UnicodeScalarView()
            }
        }

        for scalar in normalize(text).unicodeScalars {
            if Self.isWhitespace(scalar) {
                endWord()
            } else if Self.isPunctuation(scalar) {
                endWord()
                pieces.append(String(scalar))  // every punctuation mark is a piece of its own
            } else {
                word.append(scalar)
            }
        }
        endWord()
        return pieces
    }

    /// Steps 1–4, those `normalization` takes: the text after cleaning, CJK spacing, accent
    /// stripping and lowercasing.
    ///
    /// ```
    /// normalize("Crème\u{00A0}BRÛLÉE 中")  →  "creme brulee  中 "
    /// ```
    public func normalize(_ text: String) -> String {
        var text = text
        if normalization.cleanText { text = clean(text) }
        if normalization.chineseCharacters { text = spaceOutChineseCharacters(text) }
        if normalization.stripAccents { text = stripAccents(text) }
        if normalization.lowercase { text = lowercase(text) }
        return text
    }

    // MARK: - The four normalisation steps

    /// Step 1: drop NUL, U+FFFD (the replacement character) and control characters; turn every
    /// kind of whitespace into a plain space.
    ///
    /// Control characters are removed *before* whitespace is mapped, so a control character that
    /// Unicode also calls whitespace (vertical tab, form feed, U+0085) vanishes instead of becoming
    /// a space: `"a\u{0B}b"` → `"ab"`. Tab, newline and carriage return count as whitespace.
    func clean(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
            out.append(Self.isWhitespace(scalar) ? " " : scalar)
        }
        return String(out)
    }

    /// Step 2: surround each CJK ideograph with spaces, so that each becomes a word of its own.
    ///
    /// Chinese is written without spaces, and BERT's vocabulary holds single ideographs.
    /// Japanese kana and Korean Hangul are *not* ideographs and stay inside their words.
    func spaceOutChineseCharacters(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if Self.isChineseCharacter(scalar) {
                out.append(" ")
                out.append(scalar)
                out.append(" ")
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Step 3: canonical decomposition (NFD), then drop every nonspacing mark (category Mn).
    ///
    /// ```
    /// "é" (U+00E9)  →NFD→  "e" U+0301  →drop Mn→  "e"
    /// "한" (U+D55C) →NFD→  U+1112 U+1161 U+11AB   (Hangul splits into its letters, jamo)
    /// ```
    /// BERT-uncased strips accents whenever it lowercases (`strip_accents: null` follows
    /// `lowercase: true`; see `BertNormalization`). Some casualties are not accents to a reader: Japanese voicing marks
    /// go (`"が"` → `"か"`), and so do the Devanagari virama and the Arabic short vowels. Spacing
    /// marks (Mc), such as the Devanagari vowel signs `ि` and `ी`, stay.
    ///
    /// The decomposition is Unicode 9.0's, the version of the tables of `tokenizers`' NFD (its
    /// `unicode-normalization-alignments` dependency): a code point assigned later is neither
    /// decomposed nor reordered past (it acts as a base letter), so we decompose the stretches of
    /// text between such code points and leave those code points as they are.
    func stripAccents(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var stretch = String.UnicodeScalarView()
        var stretchLength = 0

        func decomposeStretch() {
            for scalar in String(stretch).decomposedStringWithCanonicalMapping.unicodeScalars
            where !Self.isNonspacingMark(scalar) {
                out.append(scalar)
            }
            stretch = String.UnicodeScalarView()
            stretchLength = 0
        }

        for scalar in text.unicodeScalars {
            if Self.isNewer(scalar, than: (9, 0)) {
                decomposeStretch()
                out.append(scalar)  // newer than Unicode 8.0 too, so never a mark to strip
            } else {
                // Foundation's NFD moves the rest of its buffer for every character it expands, so
                // one long stretch costs its length squared (a 1 MB sentence: seconds). NFD may be
                // cut before a character whose decomposition starts with a starter: no mark is
                // reordered across it.
                if stretchLength >= 1024, Self.decompositionStartsWithStarter(scalar) { decomposeStretch() }
                stretch.append(scalar)
                stretchLength += 1
            }
        }
        decomposeStretch()
        return String(out)
    }

    /// Step 4: lowercase one code point at a time, with Unicode's full mappings.
    ///
    /// One code point can become several: `"İ"` (U+0130) → `"i"` U+0307. There is no look at the
    /// neighbours, so a final capital sigma becomes `"σ"`, never `"ς"`.
    func lowercase(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            // One at a time: `append(contentsOf:)` on a UnicodeScalarView copies the whole view on
            // every call, which made a 1 MB sentence take seconds (quadratic).
            for lowered in scalar.properties.lowercaseMapping.unicodeScalars { out.append(lowered) }
        }
        return String(out)
    }

    // MARK: - Character classes, as Hugging Face `tokenizers` defines them

    /// Whitespace: Unicode's `White_Space` property (what Rust's `char::is_whitespace` tests).
    ///
    /// Space, tab, newline, carriage return, NBSP (U+00A0), the U+2000…U+200A spaces, U+3000 and a
    /// few more. The zero-width space U+200B is *not* whitespace; it is a format character (Cf),
    /// so cleaning removes it.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }

    /// Control characters to delete: categories Cc (control), Cf (format) and Co (private use),
    /// except tab, newline and carriage return, which are whitespace.
    ///
    /// Cf includes the zero-width space U+200B, the zero-width joiner U+200D that glues emoji
    /// together, soft hyphens and the bidirectional marks. Unassigned code points (Cn) are kept.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch category(scalar) {
        case .control, .format, .privateUse: return true
        default: return false
        }
    }

    /// A CJK ideograph: the code point ranges of the CJK Unified Ideographs blocks and their
    /// extensions, plus the compatibility ideographs, as `tokenizers` lists them.
    ///
    /// The list is Hugging Face's Rust one, which differs from Google's original Python in one
    /// place: Extension E starts at U+2B920 here, not U+2B820.
    static func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF,    // CJK Unified Ideographs
             0x3400...0x4DBF,    // Extension A
             0x20000...0x2A6DF,  // Extension B
             0x2A700...0x2B73F,  // Extension C
             0x2B740...0x2B81F,  // Extension D
             0x2B920...0x2CEAF,  // Extension E (as tokenizers has it)
             0xF900...0xFAFF,    // CJK Compatibility Ideographs
             0x2F800...0x2FA1F:  // CJK Compatibility Ideographs Supplement
            return true
        default:
            return false
        }
    }

    /// Punctuation: every ASCII character that is neither a letter, a digit, a space nor a
    /// control character, and everything Unicode puts in a punctuation category (P*).
    ///
    /// The ASCII rule makes symbols such as `$`, `+`, `<`, `=`, `^`, `|` and `~` punctuation too,
    /// though Unicode calls them symbols (S*); symbols beyond ASCII, such as `€` or `∑`, are not.
    /// ```
    /// ASCII  33–47  ! " # $ % & ' ( ) * + , - . /     58–64  : ; < = > ? @
    ///        91–96  [ \ ] ^ _ `                       123–126  { | } ~
    /// ```
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 33...47, 58...64, 91...96, 123...126: return true
        default: break
        }
        switch category(scalar) {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// A nonspacing mark (category Mn): accents and other marks drawn over or under a letter.
    static func isNonspacingMark(_ scalar: Unicode.Scalar) -> Bool {
        category(scalar) == .nonspacingMark
    }

    // MARK: - Unicode as `tokenizers` knows it

    /// The general category of `scalar` in Unicode 8.0 (2015), or `nil` if it was assigned later.
    ///
    /// `tokenizers` looks categories up in the tables of its `unicode_categories` dependency,
    /// which were generated from Unicode 8.0 and never updated. To it, anything newer is an
    /// unassigned code point, so it is never deleted, stripped or split off: the Arabic marks
    /// U+08D4…U+08E1 (Unicode 9.0) stay, and the double oblique hyphen U+2E5D (14.0) stays inside
    /// its word. Swift knows a newer Unicode, so we use the age of each code point to forget what
    /// `tokenizers` does not know, and restore the few categories that have changed since.
    static func category(_ scalar: Unicode.Scalar) -> Unicode.GeneralCategory? {
        if isNewer(scalar, than: (8, 0)) { return nil }
        return categoriesChangedSinceUnicode8[scalar.value] ?? scalar.properties.generalCategory
    }

    /// Whether the canonical decomposition of `scalar` starts with a starter (combining class 0),
    /// so that NFD(a + b) = NFD(a) + NFD(b) for any b that starts with `scalar`.
    static func decompositionStartsWithStarter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return true }
        let first = String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars.first ?? scalar
        return first.properties.canonicalCombiningClass == .notReordered
    }

    /// Whether `scalar` was assigned after Unicode `version` (major, minor), or is not assigned.
    static func isNewer(_ scalar: Unicode.Scalar, than version: (Int, Int)) -> Bool {
        guard let age = scalar.properties.age else { return true }
        return (age.major, age.minor) > version
    }

    /// Code points whose category has changed since Unicode 8.0, with their 8.0 category.
    static let categoriesChangedSinceUnicode8: [UInt32: Unicode.GeneralCategory] = [
        0x166D: .otherPunctuation,   // ᙭ CANADIAN SYLLABICS CHI SIGN (now a symbol, So)
        0x1734: .nonspacingMark,     // HANUNOO SIGN PAMUDPOD (now a spacing mark, Mc)
        0x1885: .otherLetter,        // MONGOLIAN LETTER ALI GALI BALUDA (now Mn)
        0x1886: .otherLetter,        // MONGOLIAN LETTER ALI GALI THREE BALUDA (now Mn)
        0xA9BD: .spacingMark,        // JAVANESE CONSONANT SIGN KERET (now Mn)
        0x111C9: .otherPunctuation,  // SHARADA SANDHI MARK (now Mn)
        0x1171E: .nonspacingMark,    // AHOM CONSONANT SIGN MEDIAL RA (now Mc)
    ]
}
