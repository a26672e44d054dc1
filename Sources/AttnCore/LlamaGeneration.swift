import Foundation

/// The keys and values of every position seen so far, per layer: what lets a decoder produce
/// one token at a time without recomputing the whole prefix.
public struct KeyValueCache: Sendable {
    /// Per layer: rotated keys and values, (positions × kv·dₕ) each; nil before the first call.
    var layers: [(keys: Matrix, values: Matrix)?]
    /// How many positions are cached.
    public var count: Int { layers.first??.keys.rows ?? 0 }

    public init(layers: Int) {
        self.layers = Array(repeating: nil, count: layers)
    }
}

extension Llama {
    /// Runs `ids` at positions `cache.count…` through every layer, using and extending the cache,
    /// and returns the logits of the last position. The same layer function as
    /// ``trace(ids:ablating:)``, which is given the cached keys and values as its past; the
    /// per-head intermediates it returns are dropped.
    public func forward(_ ids: [Int], cache: inout KeyValueCache, ablating ablated: Set<Attention.HeadIndex> = []) -> [Float] {
        let c = configuration
        let start = cache.count
        let rotation = Rotation(headDimension: c.headDimension, base: c.ropeBase, positions: start..<(start + ids.count))
        var x = weights.tokenEmbeddings.rows(at: ids)
        for (l, w) in weights.layers.enumerated() {
            let heads = Set(ablated.filter { $0.layer == l }.map(\.head))
            let result = layer(x, w, rotation: rotation, ablated: heads, past: cache.layers[l])
            cache.layers[l] = (result.keys, result.values)
            x = result.trace.out
        }
        let last = x.rows(((x.rows - 1)..<x.rows))
        let finalNorm = rmsNorm(last, gain: weights.outputNorm, epsilon: c.rmsNormEpsilon)
        return finalNorm.multiplied(by: weights.tokenEmbeddings, transposeB: true).values
    }
}

/// Generation, for any decoder: built on its ``DecoderModel/forward(_:cache:ablating:)``.
extension DecoderModel {
    /// Decoding with a KV cache: the prompt once, then one token at a time, each chosen from the
    /// logits by `rule` (the argmax, or a draw). `onToken` receives each new id.
    ///
    /// `isInterrupted` is asked before every choice, so a stop asked for while a forward pass
    /// runs (Ctrl-C) is honoured before another token is chosen and shown.
    /// - Returns: the new ids, the end-of-text token included when the model chose it.
    public func generate(prompt: [Int], count: Int, rule: DecodingRule = .greedy,
                         ablating ablated: Set<Attention.HeadIndex> = [],
                         isInterrupted: () -> Bool = { false }, onToken: (Int) -> Void) -> [Int] {
        var cache = KeyValueCache(layers: sizes.layers)
        var logits = forward(prompt, cache: &cache, ablating: ablated)
        var generator = rule.generator
        var produced: [Int] = []
        for _ in 0..<count {
            guard cache.count < sizes.context, !isInterrupted() else { break }
            let next = rule.choose(from: logits, using: &generator)
            produced.append(next)
            onToken(next)
            guard next != tokenizer.eosId, produced.count < count, !isInterrupted() else { break }
            logits = forward([next], cache: &cache, ablating: ablated)
        }
        return produced
    }

    /// Greedy decoding: ``generate(prompt:count:rule:ablating:isInterrupted:onToken:)`` with the
    /// argmax; returning `false` from `onToken` stops.
    public func generateGreedy(prompt: [Int], count: Int, ablating ablated: Set<Attention.HeadIndex> = [],
                               onToken: (Int) -> Bool) -> [Int] {
        var stopped = false
        return generate(prompt: prompt, count: count, ablating: ablated, isInterrupted: { stopped }) { stopped = !onToken($0) }
    }
}

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

/// SplitMix64 (Steele, Lea & Flood 2014; the generator that seeds xoshiro): a 64-bit state
/// advanced by a constant and mixed, the same numbers on every machine for a seed.
/// ```
/// state += 0x9E3779B97F4A7C15
/// z = state;  z = (z ^ z >> 30) · 0xBF58476D1CE4E5B9;  z = (z ^ z >> 27) · 0x94D049BB133111EB;  z ^ z >> 31
/// ```
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in [0, 1) from the top 53 bits: every Double of that form equally likely.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}

/// The next-token distribution at a temperature: the one softmax over logits, which `predict`,
/// `ablate`, `importance` and sampling share, computed by the model's own softmax.
/// ```
/// p = softmax(logits / τ)        τ → 0: greedy;  τ = 1: the model's own distribution
/// ```
/// τ below 10⁻⁶ counts as 10⁻⁶, so that τ = 0 puts (nearly) all the mass on the largest logit.
public func probabilities(logits: [Float], temperature: Float) -> [Float] {
    let t = max(temperature, 1e-6)
    return Matrix(rows: 1, columns: logits.count, values: logits.map { $0 / t }).softmaxRows().values
}

/// The most likely next tokens and their ``probabilities(logits:temperature:)``, ties to the
/// smaller id.
public func topTokens(logits: [Float], count: Int, temperature: Float) -> [(id: Int, probability: Float)] {
    let p = probabilities(logits: logits, temperature: temperature)
    let order = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
    return order.prefix(count).map { ($0, p[$0]) }
}
