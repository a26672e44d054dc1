/// How a decoder chooses the next token from its logits.
///
/// ```
/// greedy     argmax(logits)
/// sampling   p = softmax(logits / τ);  keep the top k;  keep the nucleus of mass ≥ P;  draw from p
/// ```
public enum DecodingRule: Sendable, Equatable {
    case greedy
    case sampling(Sampling)

    /// The random numbers a generation draws from: a fresh generator from the seed, so a seed
    /// gives the same tokens every time.
    var generator: SplitMix64 {
        if case let .sampling(s) = self { return SplitMix64(seed: s.seed) }
        return SplitMix64(seed: 0)
    }

    /// The next token.
    func choose(from logits: [Float], using generator: inout SplitMix64) -> Int {
        switch self {
        case .greedy:
            return logits.indices.max { logits[$0] < logits[$1] } ?? 0
        case let .sampling(s):
            return s.draw(from: s.probabilities(logits), using: &generator)
        }
    }
}
