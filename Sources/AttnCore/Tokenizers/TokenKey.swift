/// A vocabulary key compared byte for byte.
///
/// Swift's `String` equality is canonical equivalence: `"한" == "\u{1112}\u{1161}\u{11AB}"` is
/// `true`. Hugging Face compares bytes, and after accent stripping the text holds the decomposed
/// form, so a `String`-keyed dictionary would find tokens that `tokenizers` does not.
struct TokenKey: Hashable, Sendable {
    let utf8: [UInt8]

    init(utf8: [UInt8]) { self.utf8 = utf8 }
    init(_ token: String) { utf8 = Array(token.utf8) }
}
