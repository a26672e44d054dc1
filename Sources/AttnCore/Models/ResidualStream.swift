import Foundation

/// A norm at one position as the linear map it becomes once its scale is frozen at the value the
/// real forward pass computed there: what lets a sum in the residual stream stay a sum through it.
/// ```
/// RMSNorm    y = x ⊙ s,                 s = g / √(mean(x₀²) + ε)
/// LayerNorm  y = (x − mean(x)) ⊙ s + β,  s = γ / √(var(x₀) + ε)
/// ```
/// x₀ is the row the pass normalized; applied to x₀ the map gives the norm's own output, and
/// applied to each part of a sum x₀ = Σ cᵢ it gives parts that add up to it (β once).
public struct FrozenNorm: Sendable {
    /// s: the gain over the frozen root mean square or standard deviation.   (d)
    public var scale: [Float]
    /// LayerNorm: each part is centred (its own mean taken away), a linear map too.
    public var centres: Bool
    /// LayerNorm's β, added once: a part of its own.   (d)
    public var shift: [Float]?
    /// The frozen scalar, 1 / √(mean(x₀²) + ε) or 1 / √(var(x₀) + ε), before the gain.
    public var inverse: Float

    public init(scale: [Float], centres: Bool, shift: [Float]?, inverse: Float) {
        (self.scale, self.centres, self.shift, self.inverse) = (scale, centres, shift, inverse)
    }

    /// RMSNorm at row `row` of `x`: `g / √(mean(x[row]²) + ε)`, by the model's own ``rmsInverse(_:epsilon:)``.
    public static func rms(_ x: Matrix, row: Int, gain: [Float], epsilon: Float) -> FrozenNorm {
        let base = row * x.columns
        let inverse = rmsInverse(x.values[base..<(base + x.columns)], epsilon: epsilon)
        return FrozenNorm(scale: gain.map { $0 * inverse }, centres: false, shift: nil, inverse: inverse)
    }

    /// LayerNorm at row `row` of `x`: `γ / √(var(x[row]) + ε)` and β, by the model's own
    /// ``Matrix/layerNormStatistics(_:epsilon:)``.
    public static func layerNorm(_ x: Matrix, row: Int, gamma: [Float], beta: [Float], epsilon: Float) -> FrozenNorm {
        let values = x.row(row)
        let inverse = values.withUnsafeBufferPointer { Matrix.layerNormStatistics($0, epsilon: epsilon).inverse }
        return FrozenNorm(scale: gamma.map { $0 * inverse }, centres: true, shift: beta, inverse: inverse)
    }

    /// The linear part of the map, `(x − mean(x)) ⊙ s` or `x ⊙ s`: β is not added.   (d) → (d)
    public func apply(_ x: [Float]) -> [Float] {
        let mean = centres ? x.reduce(0, +) / Float(x.count) : 0
        return zip(x, scale).map { ($0 - mean) * $1 }
    }
}

/// A decoder whose last position's residual stream is a sum of what each part of the model
/// wrote into it, and whose logits read it through one norm: what direct logit attribution
/// decomposes.
/// ```
/// out_last = embedding + Σ_l (Σ_h write_{l,h} + bias_l) + Σ_l ffn_l
/// logit(t) = final_norm(out_last) · E[t] = Σ_parts frozen(part) · E[t]  (+ β · E[t])
/// ```
/// Every method reads the trace of the real pass and the model's own weights.
public protocol ResidualStreamDecoder: DecoderModel {
    /// What head `head` of `layer` adds to the residual stream at `position`: its row of z times
    /// its dₕ columns of W_O, through any norm after the attention with that norm's scale frozen.
    /// ```
    /// write = z_h[position] · W_O[:, h·dₕ…(h+1)·dₕ]ᵀ                         (1 × dₕ) · (dₕ × d) → (d)
    /// Gemma 3: write ⊙ g_post_attn / √(mean(attn_out[position]²) + ε)
    /// ```
    /// The heads' writes add up to what attention adds (``attentionBiasWrite`` beside them).
    func headWrite(layer: Int, head: Int, position: Int, trace: Trace) -> [Float]
    /// The attention output's bias as it reaches the residual stream (GPT-2's `b_proj`), nil for
    /// a model without one.   (d)
    func attentionBiasWrite(layer: Int, position: Int, trace: Trace) -> [Float]?
    /// The final norm at `position`, its scale frozen at the value the pass computed.
    func frozenFinalNorm(position: Int, trace: Trace) -> FrozenNorm
    /// The unembedding's row of token `id`: `logits[t] = final_norm · E[t]`.   (d)
    func unembeddingRow(_ id: Int) -> [Float]
}

extension ResidualStreamDecoder {
    /// What the feed-forward of `layer` adds at `position`: `ffn_out`, or on Gemma 3 the
    /// `post_ffn_norm` of it (its own output norm belongs to the feed-forward's part).   (d)
    public func feedForwardWrite(layer: Int, position: Int, trace: Trace) -> [Float] {
        let l = trace.layers[layer]
        return (l.feedForwardPostNorm ?? l.feedForwardOutput).row(position)
    }

    /// One head's output through the output projection: `z_h[position] · W_O,hᵀ`, with `output`
    /// stored as PyTorch's Linear (d × heads·dₕ), so head h's columns: the head's z, zeros
    /// for every other head, through the whole projection (which may be quantized).   (d)
    func projectHead(_ trace: Trace, layer: Int, head: Int, position: Int, output: StoredMatrix) -> [Float] {
        let dh = sizes.headDimension
        let z = trace.layers[layer].heads[head].z.row(position)                      // (dₕ)
        var alone = Matrix(rows: 1, columns: output.columns)                         // (1 × heads·dₕ)
        alone.values.replaceSubrange((head * dh)..<((head + 1) * dh), with: z)
        return alone.multiplied(byTransposeOf: output).values                        // (1 × d)
    }
}

extension Llama: ResidualStreamDecoder {
    public func headWrite(layer: Int, head: Int, position: Int, trace: Trace) -> [Float] {
        projectHead(trace, layer: layer, head: head, position: position, output: weights.layers[layer].output)
    }
    public func attentionBiasWrite(layer: Int, position: Int, trace: Trace) -> [Float]? { nil }
    public func frozenFinalNorm(position: Int, trace: Trace) -> FrozenNorm {
        FrozenNorm.rms(trace.layers.last?.out ?? trace.embeddings, row: position, gain: weights.outputNorm,
                       epsilon: configuration.rmsNormEpsilon)
    }
    public func unembeddingRow(_ id: Int) -> [Float] { weights.tokenEmbeddings.row(id) }
}

extension Gemma3: ResidualStreamDecoder {
    /// Through the post-attention norm, its scale frozen at the value for the whole `attn_out`.
    public func headWrite(layer: Int, head: Int, position: Int, trace: Trace) -> [Float] {
        let w = weights.layers[layer]
        let write = projectHead(trace, layer: layer, head: head, position: position, output: w.output)
        let post = FrozenNorm.rms(trace.layers[layer].attentionOutput, row: position, gain: w.postAttentionNorm,
                                  epsilon: configuration.rmsNormEpsilon)
        return post.apply(write)
    }
    public func attentionBiasWrite(layer: Int, position: Int, trace: Trace) -> [Float]? { nil }
    public func frozenFinalNorm(position: Int, trace: Trace) -> FrozenNorm {
        FrozenNorm.rms(trace.layers.last?.out ?? trace.embeddings, row: position, gain: weights.outputNorm,
                       epsilon: configuration.rmsNormEpsilon)
    }
    /// Gemma 3's logits have no soft-cap (Gemma 2's had, tanh at 30): they are final_norm · E[t].
    public func unembeddingRow(_ id: Int) -> [Float] { weights.tokenEmbeddings.row(id) }
}

extension GPT2: ResidualStreamDecoder {
    /// `c_proj` is a Conv1D, stored (in × out): head h's rows.
    public func headWrite(layer: Int, head: Int, position: Int, trace: Trace) -> [Float] {
        let dh = sizes.headDimension
        let z = trace.layers[layer].heads[head].z.rows(position..<(position + 1))                      // (1 × dₕ)
        let rows = weights.layers[layer].attentionOutput.weight.rows((head * dh)..<((head + 1) * dh))  // (dₕ × d)
        return z.multiplied(by: rows).values
    }
    public func attentionBiasWrite(layer: Int, position: Int, trace: Trace) -> [Float]? {
        weights.layers[layer].attentionOutput.bias
    }
    public func frozenFinalNorm(position: Int, trace: Trace) -> FrozenNorm {
        FrozenNorm.layerNorm(trace.layers.last?.out ?? trace.embeddings, row: position, gamma: weights.finalNorm.gamma,
                             beta: weights.finalNorm.beta, epsilon: configuration.layerNormEpsilon)
    }
    public func unembeddingRow(_ id: Int) -> [Float] { weights.tokenEmbeddings.lookUp([id]).values }
}
