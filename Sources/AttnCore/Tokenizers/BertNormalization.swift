/// Which of BERT's cleaning steps `BasicTokenizer` takes: the options of Hugging Face's
/// `BertNormalizer`.
///
/// ```
/// "Héllo,\tWORLD 中文!"                       cleanText  chinese  stripAccents  lowercase
/// uncased (the default)  "hello, world  中  文 !"    ✓          ✓         ✓             ✓
/// cased                  "Héllo, WORLD  中  文 !"    ✓          ✓
/// ```
/// `tokenizer.json` writes them as `clean_text`, `handle_chinese_chars`, `strip_accents` and
/// `lowercase`; `tokenizer_config.json` as `do_lower_case`, `strip_accents` and
/// `tokenize_chinese_chars`.
public struct BertNormalization: Sendable, Equatable {
    /// Drop NUL, U+FFFD and control characters; every whitespace becomes a space.
    public var cleanText: Bool
    /// Put spaces around every CJK ideograph.
    public var chineseCharacters: Bool
    /// Decompose (NFD) and drop nonspacing marks: `"é"` → `"e"`.
    public var stripAccents: Bool
    /// Lowercase every code point.
    public var lowercase: Bool

    /// BERT-uncased's settings unless told otherwise.
    ///
    /// ```
    /// BertNormalization()                                     all four steps
    /// BertNormalization(lowercase: false)                     cased: no lowercasing, no stripping
    /// BertNormalization(stripAccents: false)                  lowercase, keep accents
    /// ```
    /// - Parameter stripAccents: `nil` follows `lowercase`, as `strip_accents: null` does in
    ///   `tokenizers`.
    public init(cleanText: Bool = true, chineseCharacters: Bool = true, stripAccents: Bool? = nil,
                lowercase: Bool = true) {
        self.cleanText = cleanText
        self.chineseCharacters = chineseCharacters
        self.stripAccents = stripAccents ?? lowercase
        self.lowercase = lowercase
    }

    /// No step at all: the text as it is (a `tokenizer.json` without a normalizer).
    public static let none = BertNormalization(cleanText: false, chineseCharacters: false,
                                               stripAccents: false, lowercase: false)
}
