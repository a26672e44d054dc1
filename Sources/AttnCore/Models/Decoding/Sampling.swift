import Foundation

/// Sampling as Hugging Face's `generate(do_sample=True)` does it: temperature, then top-k, then
/// top-p (nucleus) filtering, then one draw.
///
/// ```
/// p = softmax(logits / τ)                       probabilities(logits:temperature:)
/// top-k:  keep the tokens whose logit is ≥ the k-th largest (ties at the k-th stay)
/// top-p:  sort p ascending, c = cumsum(p); drop the tokens with c ≤ 1 − P, never the largest:
///         what stays is the smallest set of most likely tokens whose mass is ≥ P
/// draw:   u ∈ [0, 1) from SplitMix64; the first token (by id) whose running sum of the kept
///         p exceeds u · Σ kept p
/// ```
/// Probabilities are summed in Double, so a seed gives the same tokens on every machine unless a
/// CPU's float rounding moves a running sum across u exactly.
public struct Sampling: Sendable, Equatable {
    /// τ > 0: below 1 sharpens the distribution, above 1 flattens it.
    public var temperature: Float
    /// Keep only the k most likely tokens; nil keeps all.
    public var topK: Int?
    /// Keep only the most likely tokens whose probabilities add up to at least this (0 < P ≤ 1);
    /// nil keeps all.
    public var topP: Double?
    /// Where the random numbers start.
    public var seed: UInt64

    public init(temperature: Float, topK: Int? = nil, topP: Double? = nil, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    /// The distribution a token is drawn from: the filtered softmax of `logits / τ`, zero for every
    /// token filtered out; not renormalised (the draw scales by the kept mass).
    public func probabilities(_ logits: [Float]) -> [Double] {
        // Temperature, then top-k on the scaled logits: −∞ for what goes, so softmax gives it 0.
        var scaled = logits.map { $0 / temperature }
        if let topK, topK < scaled.count {
            let threshold = scaled.sorted(by: >)[max(topK, 1) - 1]
            for i in scaled.indices where scaled[i] < threshold { scaled[i] = -.infinity }
        }
        // τ is applied already (top-k reads the scaled logits, as Hugging Face's warpers do).
        let p = AttnCore.probabilities(logits: scaled, temperature: 1).map(Double.init)
        guard let topP else { return p }
        return Self.nucleus(p, topP: topP)
    }

    /// Top-p filtering as Hugging Face's `TopPLogitsWarper` with `min_tokens_to_keep = 1`: sort
    /// ascending, drop every token whose cumulative probability is ≤ 1 − P, keep the most likely
    /// one always. Ties in probability are ordered by id, the larger id dropped first.
    ///
    /// ```
    /// p = [0.1, 0.5, 0.15, 0.25], P = 0.7  →  ascending 0.1 0.15 0.25 0.5, cumsum 0.1 0.25 0.5 1
    ///                                     →  drop c ≤ 0.3: 0.1, 0.15  →  [0, 0.5, 0, 0.25]
    /// ```
    public static func nucleus(_ p: [Double], topP: Double) -> [Double] {
        let ascending = p.indices.sorted { p[$0] < p[$1] || (p[$0] == p[$1] && $0 > $1) }
        var kept = p
        var cumulative = 0.0
        for i in ascending.dropLast() {  // the most likely token always stays
            cumulative += p[i]
            guard cumulative <= 1 - topP else { break }
            kept[i] = 0
        }
        return kept
    }

    /// One token drawn from `p` by the inverse of its cumulative distribution.
    func draw(from p: [Double], using generator: inout SplitMix64) -> Int {
        let total = p.reduce(0, +)
        let target = generator.nextUnit() * total
        var cumulative = 0.0
        var last = 0
        for (id, probability) in p.enumerated() where probability > 0 {
            cumulative += probability
            last = id
            if cumulative > target { return id }
        }
        return last  // u · total rounded up to the whole mass
    }

    /// The rule as the learner reads it: `softmax(logits / 0.7), top-k 50, top-p 0.9, seed 42`.
    public var summary: String {
        var parts = ["softmax(logits / \(String(format: "%g", Double(temperature))))"]
        if let topK { parts.append("top-k \(topK)") }
        if let topP { parts.append("top-p \(String(format: "%g", topP))") }
        parts.append("seed \(seed)")
        return parts.joined(separator: ", ")
    }
}
