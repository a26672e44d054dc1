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

    /// Greedy decoding with a KV cache: the prompt once, then one token at a time, each the
    /// argmax of the logits. `onToken` receives each new id; returning `false` stops early.
    public func generateGreedy(prompt: [Int], count: Int, ablating ablated: Set<Attention.HeadIndex> = [],
                               onToken: (Int) -> Bool) -> [Int] {
        var cache = KeyValueCache(layers: configuration.hiddenLayers)
        var logits = forward(prompt, cache: &cache, ablating: ablated)
        var produced: [Int] = []
        for _ in 0..<count {
            guard cache.count < configuration.contextLength else { break }
            let next = logits.indices.max { logits[$0] < logits[$1] } ?? 0
            produced.append(next)
            if !onToken(next) || next == tokenizer.eosId { break }
            logits = forward([next], cache: &cache, ablating: ablated)
        }
        return produced
    }
}

/// The most likely next tokens: a softmax of the logits at a temperature.
/// ```
/// p = softmax(logits / τ)        τ → 0: greedy;  τ = 1: the model's own distribution
/// ```
public func topTokens(logits: [Float], count: Int, temperature: Float) -> [(id: Int, probability: Float)] {
    let t = max(temperature, 1e-6)
    let scaled = logits.map { $0 / t }
    let maximum = scaled.max() ?? 0
    let exps = scaled.map { expf($0 - maximum) }
    let sum = exps.reduce(0, +)
    let order = exps.indices.sorted { exps[$0] > exps[$1] || (exps[$0] == exps[$1] && $0 < $1) }
    return order.prefix(count).map { ($0, exps[$0] / sum) }
}
