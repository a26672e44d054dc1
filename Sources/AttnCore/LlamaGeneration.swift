import Foundation

/// The keys and values of every position seen so far, per layer: what lets a decoder produce
/// one token at a time without recomputing the whole prefix.
public struct KeyValueCache: Sendable {
    /// Per layer: rotated keys and values, row-major (positions × kv·dₕ).
    var keys: [[Float]]
    var values: [[Float]]
    /// How many positions are cached.
    public private(set) var count = 0

    public init(layers: Int) {
        keys = Array(repeating: [], count: layers)
        values = Array(repeating: [], count: layers)
    }

    mutating func append(layer: Int, keys k: Matrix, values v: Matrix) {
        keys[layer].append(contentsOf: k.values)
        values[layer].append(contentsOf: v.values)
    }

    mutating func advance(by n: Int) { count += n }
}

extension Llama {
    /// Runs `ids` at positions `cache.count…` through every layer, using and extending the cache,
    /// and returns the logits of the last position. The same step functions as ``trace(ids:)``;
    /// only the per-head intermediates are not kept.
    public func forward(_ ids: [Int], cache: inout KeyValueCache, ablating ablated: Set<Attention.HeadIndex> = []) -> [Float] {
        let c = configuration
        let dh = c.headDimension, kvWidth = c.keyValueHeads * dh
        let start = cache.count
        let rotation = Rotation(headDimension: dh, base: c.ropeBase, positions: start..<(start + ids.count))
        var x = weights.tokenEmbeddings.rows(at: ids)
        for (l, w) in weights.layers.enumerated() {
            let h = rmsNorm(x, gain: w.attentionNorm, epsilon: c.rmsNormEpsilon)
            let queries = h.multiplied(by: w.query, transposeB: true)
            let newKeys = h.multiplied(by: w.key, transposeB: true)
            let newValues = h.multiplied(by: w.value, transposeB: true)
            // Rotate the new keys by their positions, then add them to the cache.
            let rotatedKeys = Matrix.concatenateColumns((0..<c.keyValueHeads).map {
                rotation.apply(Attention.headSlice(newKeys, head: $0, headDimension: dh))
            })
            cache.append(layer: l, keys: rotatedKeys, values: newValues)
            let total = start + ids.count
            let allKeys = Matrix(rows: total, columns: kvWidth, values: cache.keys[l])
            let allValues = Matrix(rows: total, columns: kvWidth, values: cache.values[l])

            let heads = (0..<c.attentionHeads).map { i -> Matrix in
                let j = i / c.groupSize
                let q = rotation.apply(Attention.headSlice(queries, head: i, headDimension: dh))
                let k = Attention.headSlice(allKeys, head: j, headDimension: dh)
                let v = Attention.headSlice(allValues, head: j, headDimension: dh)
                let scaled = Attention.scale(Attention.scores(queries: q, keys: k), headDimension: dh)
                let weights = Attention.weights(Attention.mask(scaled, .causalAfter(start)))
                return Attention.ablate(Attention.weightedSum(weights: weights, values: v),
                                        if: ablated.contains(Attention.HeadIndex(layer: l, head: i)))
            }
            let residual = x + Matrix.concatenateColumns(heads).multiplied(by: w.output, transposeB: true)
            let n = rmsNorm(residual, gain: w.feedForwardNorm, epsilon: c.rmsNormEpsilon)
            let activation = swiGLU(gate: n.multiplied(by: w.gate, transposeB: true),
                                    up: n.multiplied(by: w.up, transposeB: true))
            x = residual + activation.multiplied(by: w.down, transposeB: true)
        }
        cache.advance(by: ids.count)
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
