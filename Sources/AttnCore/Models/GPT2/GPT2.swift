import Foundation

/// A GPT-2 decoder whose forward pass keeps every intermediate.
///
/// ```
/// x₀ = wte[ids] + wpe[0…T−1]                            learned positions, added once
/// for each layer:
///     h = LN(x) ⊙ γ₁ + β₁                               pre-LayerNorm (ln_1)
///     [Q | K | V] = h · W_attn + b_attn                 one Conv1D, (d × 3d), split in that order
///     for each head i:  z_i = softmax(causal(q_i·k_iᵀ / √dₕ)) · v_i
///     attn_residual = x + [z₀ | … | z₁₁] · W_proj + b_proj
///     out = attn_residual + GELU_tanh(n · W_fc + b_fc) · W_mlp + b_mlp,   n = LN(attn_residual) (ln_2)
/// logits = LN(out) · wteᵀ                               ln_f, then the tied embeddings
/// ```
/// Unlike BERT the norm comes before each sub-layer and the residual stream is never
/// normalized; unlike Llama the positions are vectors added to the input, not rotations.
public struct GPT2: Sendable {
    public let configuration: GPT2Configuration
    public let weights: GPT2Weights
    public let tokenizer: BPETokenizer
    /// The directory the model was loaded from.
    public let directory: String

    /// Loads `config.json`, the safetensors weights (one file or shards) and the tokenizer
    /// (`tokenizer.json`, else `vocab.json` and `merges.txt`) from `directory`.
    /// - Throws: `AttnError` naming the file and the problem.
    public init(directory: String) throws {
        configuration = try GPT2Configuration.load(path: directory + "/config.json")
        weights = try GPT2Weights(checkpoint: try SafeTensorsCheckpoint(directory: directory), configuration: configuration)
        tokenizer = try BPETokenizer(huggingFaceDirectory: directory)
        // The embedding table may have more rows than the tokenizer has tokens (padding to a
        // round number), never fewer: every id must have a row.
        guard tokenizer.vocabulary.count <= configuration.vocabularySize else {
            throw AttnError.vocabularyInvalid(
                path: directory,
                reason: "the tokenizer has \(tokenizer.vocabulary.count) tokens but config.json says vocab_size \(configuration.vocabularySize)")
        }
        self.directory = directory
    }

    /// The forward pass over token ids, keeping every intermediate.
    /// - Precondition: every id is below the vocabulary size and there are at most `n_positions`.
    /// - Parameter ablated: heads whose output is zeroed (their `z`), everything after recomputed.
    public func trace(ids: [Int], ablating ablated: Set<Attention.HeadIndex> = []) -> Trace {
        precondition(ids.count <= configuration.maximumPositions)
        let (token, position, embeddings) = embed(ids, from: 0)
        var layers: [LayerTrace] = []
        var x = embeddings
        for (index, layerWeights) in weights.layers.enumerated() {
            let heads = Set(ablated.filter { $0.layer == index }.map(\.head))
            let layer = self.layer(x, layerWeights, ablated: heads).trace
            layers.append(layer)
            x = layer.out
        }
        return Trace(tokenIds: ids, tokens: ids.map(tokenLabel), tokenEmbeddings: token, positionEmbeddings: position,
                     embeddings: embeddings, layers: layers, finalNorm: finalNorm(x), unembedding: logits, isCausal: true,
                     steps: Set(Self.steps))
    }

    /// The input of layer 0: each token's row of `wte` plus its position's row of `wpe`.
    /// ```
    /// x₀ = wte[ids] + wpe[start…start+T−1]        (T × d)
    /// ```
    func embed(_ ids: [Int], from start: Int) -> (token: Matrix, position: Matrix, sum: Matrix) {
        let token = weights.tokenEmbeddings.lookUp(ids)
        let position = weights.positionEmbeddings.rows(start..<(start + ids.count))
        return (token, position, token + position)
    }

    /// After the last layer: `ln_f`.        (T × d)
    public func finalNorm(_ x: Matrix) -> Matrix {
        x.layerNormRows(gamma: weights.finalNorm.gamma, beta: weights.finalNorm.beta, epsilon: configuration.layerNormEpsilon)
    }

    /// A score for every token of the vocabulary: `wte` is the output projection too (tied).
    /// ```
    /// logits = LN(x) · wteᵀ        (T × d) · (d × vocabulary) → (T × vocabulary)
    /// ```
    public func logits(_ finalNorm: Matrix) -> Matrix {
        weights.tokenEmbeddings.withUnsafeValues {
            finalNorm.multiplied(byTransposeOf: $0, rows: weights.tokenEmbeddings.rows, columns: weights.tokenEmbeddings.columns)
        }
    }

    /// The MLP's intermediates: the layer computes its output from them, and a trace computes
    /// them again when they are shown.
    /// ```
    /// ffn_hidden = ln_2 · W_fc + b_fc        (T × d) → (T × d_ff)
    /// ffn_act    = GELU(ffn_hidden)          (the configuration's activation)
    /// ```
    func feedForward(_ n: Matrix, _ w: GPT2LayerWeights) -> FeedForwardSteps {
        let hidden = w.feedForwardIn(n)
        return FeedForwardSteps(hidden: hidden, activation: configuration.activation(hidden))
    }

    /// One GPT-2 block: LayerNorm, causal multi-head attention, residual; LayerNorm, MLP, residual.
    ///
    /// The one layer function of the model: ``trace(ids:ablating:)`` calls it with no past, and a
    /// decoding step (``forward(_:cache:ablating:)``) with the keys and values of the positions
    /// before `x` (a KV cache), which the new rows attend to as well. It returns the layer's trace
    /// and the keys and values of every position so far.
    /// - Parameter past: keys and values of earlier positions, (P × d) each.
    /// - Parameter patched: rows of heads' `z` to write (activation patching), by head and position.
    func layer(_ x: Matrix, _ w: GPT2LayerWeights, ablated: Set<Int> = [], patched: [Int: [Int: [Float]]] = [:],
               past: (keys: Matrix, values: Matrix)? = nil) -> (trace: LayerTrace, keys: Matrix, values: Matrix) {
        let c = configuration
        let d = c.hiddenSize, dh = c.headDimension

        // Pre-norm, then Q, K and V of every head in one product, cut into its three thirds. (A
        // trace keeps x and computes h again when it is shown, by `norm`; likewise ln_2.)
        let norm: @Sendable () -> Matrix = { x.layerNormRows(gamma: w.attentionNorm.gamma, beta: w.attentionNorm.beta, epsilon: c.layerNormEpsilon) }
        let h = norm()
        let qkv = w.queryKeyValue(h)                                   // (T × 3d)
        let queries = qkv.columns(0..<d)
        let keys = past.map { Matrix.concatenateRows([$0.keys, qkv.columns(d..<(2 * d))]) } ?? qkv.columns(d..<(2 * d))
        let values = past.map { Matrix.concatenateRows([$0.values, qkv.columns((2 * d)..<(3 * d))]) } ?? qkv.columns((2 * d)..<(3 * d))
        // Query i is at position P + i and sees keys 0…P + i.
        let mask = Attention.Mask.causal(past: past?.keys.rows ?? 0)

        var heads = Attention.heads(queries: queries, keys: keys, values: values, count: c.attentionHeads,
                                    headDimension: dh, mask: mask, ablated: ablated)
        Attention.patch(&heads, patched, first: past?.keys.rows ?? 0)
        let concat = Matrix.concatenateColumns(heads.map(\.z))   // as LayerTrace.concat joins them again
        let attentionOutput = w.attentionOutput(concat)
        let attentionResidual: @Sendable () -> Matrix = { x + attentionOutput }
        let residual = attentionResidual()

        // The MLP: widen to d_ff, GELU (tanh form), narrow back; then the second residual.
        let feedForwardNorm: @Sendable (Matrix) -> Matrix = {
            $0.layerNormRows(gamma: w.feedForwardNorm.gamma, beta: w.feedForwardNorm.beta, epsilon: c.layerNormEpsilon)
        }
        let n = feedForwardNorm(residual)
        let feedForwardInput: @Sendable () -> Matrix = { feedForwardNorm(attentionResidual()) }  // for a trace
        let feedForwardOutput = w.feedForwardOut(feedForward(n, w).activation)
        let out = residual + feedForwardOutput

        let trace = LayerTrace(x: x, computeAttentionInput: norm, heads: heads, attentionOutput: attentionOutput,
                               computeAttentionResidual: attentionResidual,
                               computeFeedForwardInput: feedForwardInput, computeFeedForward: { [self] in feedForward(feedForwardInput(), w) },
                               feedForwardOutput: feedForwardOutput, out: out)
        return (trace, keys, values)
    }

    /// Runs `ids` at positions `cache.count…` through every layer, using and extending the cache,
    /// and returns the logits of the last position: the same layer function as
    /// ``trace(ids:ablating:)``, given the cached keys and values as its past.
    public func forward(_ ids: [Int], cache: inout KeyValueCache, ablating ablated: Set<Attention.HeadIndex> = []) -> [Float] {
        forward(ids, cache: &cache, ablating: ablated, patching: ActivationPatch())
    }

    /// ``forward(_:cache:ablating:)``, writing `patch`'s rows into each layer's input and its
    /// heads' `z` (activation patching).
    public func forward(_ ids: [Int], cache: inout KeyValueCache, ablating ablated: Set<Attention.HeadIndex>,
                        patching patch: ActivationPatch) -> [Float] {
        let start = cache.count
        // A pass from a later layer reads that layer's input from the patch.
        var x = patch.firstLayer > 0 ? Matrix(rows: ids.count, columns: configuration.hiddenSize) : embed(ids, from: start).sum
        for (l, w) in weights.layers.enumerated() where l >= patch.firstLayer {
            let heads = Set(ablated.filter { $0.layer == l }.map(\.head))
            x = patch.residual(x, layer: l, first: start)
            let result = layer(x, w, ablated: heads, patched: patch.heads(layer: l), past: cache.layers[l])
            cache.layers[l] = (result.keys, result.values)
            x = result.trace.out
        }
        return logits(finalNorm(x.rows((x.rows - 1)..<x.rows))).values
    }
}
