import Testing

/// Checks that `encode` gives every corpus text the ids Hugging Face `tokenizers` gave it: each
/// text that differs is named with both token lists, and the count of those that differ is checked.
///
/// ```
/// expectCorpusParity(fixture.cases.map { ($0.text, $0.ids) }, tokenizers: "0.23.3",
///                    encode: tokenizer.encode, tokens: { $0.map(tokenizer.tokenText) })
/// ```
/// - Parameters:
///   - cases: each corpus text with its ids from `tokenizers`.
///   - version: the `tokenizers` version that made the ids, for the failure message.
///   - encode: the tokenizer under test.
///   - tokens: how to show ids as tokens in a failure message.
func expectCorpusParity(_ cases: [(text: String, ids: [Int])], tokenizers version: String,
                        encode: (String) throws -> [Int], tokens: ([Int]) -> [String],
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
    var mismatches = 0
    for reference in cases {
        let ids = try encode(reference.text)
        if ids != reference.ids { mismatches += 1 }
        #expect(ids == reference.ids, """
            text \(String(reflecting: reference.text))
            expected \(reference.ids) \(tokens(reference.ids)) (tokenizers \(version))
            actual   \(ids) \(tokens(ids))
            """, sourceLocation: sourceLocation)
    }
    #expect(mismatches == 0, "\(mismatches) of \(cases.count) corpus texts differ", sourceLocation: sourceLocation)
}
