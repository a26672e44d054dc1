import Foundation

/// A Llama-style decoder (SmolLM2-135M-Instruct) whose forward pass keeps every intermediate.
///
/// ```
/// x₀ = E[ids]
/// for each layer:
///     h = RMSNorm(x) ⊙ g                                   pre-norm
///     for each query head i (key/value head j = i / group):
///         q = RoPE(h·W_Qᵀ [head i]), k = RoPE(h·W_Kᵀ [head j]), v = h·W_Vᵀ [head j]
///         z_i = softmax(causal(q·kᵀ / √dₕ)) · v
///     attn_residual = x + [z₀ | … | z₈] · W_Oᵀ
///     out = attn_residual + (SiLU(n·W_gateᵀ) ⊙ n·W_upᵀ) · W_downᵀ,   n = RMSNorm(attn_residual) ⊙ g₂
/// logits = RMSNorm(out) · Eᵀ                               tied embeddings
/// ```
public struct Llama: Sendable {
    public let configuration: LlamaConfiguration
    public let weights: LlamaWeights
    public let tokenizer: BPETokenizer
    /// The GGUF file the model was loaded from.
    public let path: String
    /// The Jinja text that turns a conversation into a prompt (`tokenizer.chat_template`), if the
    /// file has one; read by `ChatTemplate`.
    public let chatTemplate: String?
    /// How the file stores each tensor (Q8_0, Q4_1, F32, …), by its GGUF name: what provenance
    /// says the numbers were dequantized from.
    public let storedTypes: [String: GGMLType]

    /// The file name inside the model directory.
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// Loads a GGUF file, or the GGUF file inside a directory.
    public init(path: String) throws {
        let file = try GGUFFile.location(path, preferring: Self.fileName)
        let gguf = try GGUFFile(path: file)
        configuration = try LlamaConfiguration(gguf: gguf)
        // The weights (checked, kept in the mapping) and the tokenizer (its merge table, 49k pairs)
        // read different parts of the file: on two cores at once.
        (weights, tokenizer) = try bothAtOnce({ [configuration] in try LlamaWeights(file: gguf, configuration: configuration) },
                                              { try BPETokenizer(gguf: gguf) })
        chatTemplate = gguf.metadata["tokenizer.chat_template"]?.string
        storedTypes = gguf.tensors.mapValues(\.type)
        self.path = file
    }

    /// The forward pass over token ids, keeping every intermediate.
    /// - Parameter ablated: heads whose output is zeroed (their `z`), everything after recomputed.
    public func trace(ids: [Int], ablating ablated: Set<Attention.HeadIndex> = []) -> Trace {
        let c = configuration
        let embeddings = weights.tokenEmbeddings.rows(at: ids)
        let rotation = Rotation(headDimension: c.headDimension, base: c.ropeBase, positions: 0..<ids.count)
        var layers: [LayerTrace] = []
        var x = embeddings
        for (index, layerWeights) in weights.layers.enumerated() {
            let heads = Set(ablated.filter { $0.layer == index }.map(\.head))
            let layer = self.layer(x, layerWeights, rotation: rotation, ablated: heads).trace
            layers.append(layer)
            x = layer.out
        }
        return Trace(tokenIds: ids, tokens: ids.map(tokenLabel), tokenEmbeddings: embeddings,
                     embeddings: embeddings, layers: layers, finalNorm: finalNorm(x), unembedding: logits, isCausal: true,
                     steps: Set(Self.steps))
    }

    /// After the last layer: RMSNorm with the output gain.        (T × d)
    public func finalNorm(_ x: Matrix) -> Matrix {
        rmsNorm(x, gain: weights.outputNorm, epsilon: configuration.rmsNormEpsilon)
    }

    /// A score for every token: the embeddings are the output projection too (tied).
    /// ```
    /// logits = final_norm · Eᵀ        (T × d) · (d × vocabulary) → (T × vocabulary)
    /// ```
    public func logits(_ finalNorm: Matrix) -> Matrix {
        finalNorm.multiplied(byTransposeOf: weights.tokenEmbeddings)
    }

    /// One decoder layer: RMSNorm, grouped-query causal attention with RoPE, residual; RMSNorm,
    /// SwiGLU feed-forward, residual.
    ///
    /// The one layer function of the decoder: ``trace(ids:ablating:)`` calls it with no past, and a
    /// decoding step (``forward(_:cache:ablating:)``) with the rotated keys and values of the
    /// positions before `x` (a KV cache), which the new rows attend to as well. It returns the
    /// layer's trace and the keys and values of every position so far.
    /// - Parameter past: rotated keys and values of earlier positions, (P × kv·dₕ) each.
    /// - Parameter patched: rows of heads' `z` to write (activation patching), by head and position.
    func layer(_ x: Matrix, _ w: LlamaLayerWeights, rotation: Rotation, ablated: Set<Int> = [],
               patched: [Int: [Int: [Float]]] = [:],
               past: (keys: Matrix, values: Matrix)? = nil) -> (trace: LayerTrace, keys: Matrix, values: Matrix) {
        let c = configuration
        let dh = c.headDimension

        // Pre-norm, then project all heads at once and cut each head's columns. (A trace keeps x
        // and computes h again when it is shown, by `norm`; likewise the feed-forward's norm.)
        let norm: @Sendable () -> Matrix = { rmsNorm(x, gain: w.attentionNorm, epsilon: c.rmsNormEpsilon) }
        let h = norm()
        let queries = h.multiplied(byTransposeOf: w.query)   // (T × d)
        let keys = h.multiplied(byTransposeOf: w.key)        // (T × kv·dₕ)
        let values = h.multiplied(byTransposeOf: w.value)    // (T × kv·dₕ)

        // Keys and values once per key/value head; the query heads of a group share them. The new
        // keys are rotated by their positions and joined after the past ones.
        let keysBefore = (0..<c.keyValueHeads).map { Attention.headSlice(keys, head: $0, headDimension: dh) }
        let rotated = Matrix.concatenateColumns(keysBefore.map(rotation.apply))
        let allKeys = past.map { Matrix.concatenateRows([$0.keys, rotated]) } ?? rotated       // (P+T × kv·dₕ)
        let allValues = past.map { Matrix.concatenateRows([$0.values, values]) } ?? values     // (P+T × kv·dₕ)
        let headKeys = (0..<c.keyValueHeads).map { Attention.headSlice(allKeys, head: $0, headDimension: dh) }
        let headValues = (0..<c.keyValueHeads).map { Attention.headSlice(allValues, head: $0, headDimension: dh) }
        // Query i is at position P + i and sees keys 0…P + i.
        let mask = Attention.Mask.causal(past: past?.keys.rows ?? 0)

        // The encoder's heads, with the decoder's two additions: query head i reads key/value
        // head i / group, and its query is turned by RoPE.
        let queriesBefore = (0..<c.attentionHeads).map { Attention.headSlice(queries, head: $0, headDimension: dh) }
        var heads = Attention.heads(queries: queriesBefore.map(rotation.apply), keys: headKeys, values: headValues,
                                    mask: mask, ablated: ablated)
        // A trace computes the projections before RoPE again when they are shown.
        for i in heads.indices {
            heads[i].computeBeforeRotation = (
                queries: { Attention.headSlice(norm().multiplied(byTransposeOf: w.query), head: i, headDimension: dh) },
                keys: { Attention.headSlice(norm().multiplied(byTransposeOf: w.key), head: i / c.groupSize, headDimension: dh) })
        }
        Attention.patch(&heads, patched, first: rotation.positions.lowerBound)

        let concat = Matrix.concatenateColumns(heads.map(\.z))   // as LayerTrace.concat joins them again
        let attentionOutput = concat.multiplied(byTransposeOf: w.output)
        let attentionResidual: @Sendable () -> Matrix = { x + attentionOutput }
        let residual = attentionResidual()

        // SwiGLU: SiLU(gate) ⊙ up, then down.
        let feedForwardNorm: @Sendable (Matrix) -> Matrix = { rmsNorm($0, gain: w.feedForwardNorm, epsilon: c.rmsNormEpsilon) }
        let n = feedForwardNorm(residual)
        let feedForwardInput: @Sendable () -> Matrix = { feedForwardNorm(attentionResidual()) }  // for a trace
        let down = feedForward(n, w).activation.multiplied(byTransposeOf: w.down)
        let out = residual + down

        let trace = LayerTrace(x: x, computeAttentionInput: norm, heads: heads, attentionOutput: attentionOutput,
                               computeAttentionResidual: attentionResidual,
                               computeFeedForwardInput: feedForwardInput, computeFeedForward: { [self] in feedForward(feedForwardInput(), w) },
                               feedForwardOutput: down, out: out)
        return (trace, allKeys, allValues)
    }

    /// The feed-forward's intermediates: the layer computes its output from them, and a trace
    /// computes them again when they are shown.
    /// ```
    /// ffn_gate = ffn_norm · W_gateᵀ,  ffn_up = ffn_norm · W_upᵀ     (T × d) → (T × d_ff)
    /// ffn_act  = SiLU(ffn_gate) ⊙ ffn_up
    /// ```
    func feedForward(_ n: Matrix, _ w: LlamaLayerWeights) -> FeedForwardSteps {
        let gate = n.multiplied(byTransposeOf: w.gate)
        let up = n.multiplied(byTransposeOf: w.up)
        return FeedForwardSteps(gate: gate, up: up, activation: swiGLU(gate: gate, up: up))
    }
}

extension Llama {
    /// Runs `ids` at positions `cache.count…` through every layer, using and extending the cache,
    /// and returns the logits of the last position. The same layer function as
    /// ``trace(ids:ablating:)``, which is given the cached keys and values as its past; the
    /// per-head intermediates it returns are dropped.
    public func forward(_ ids: [Int], cache: inout KeyValueCache, ablating ablated: Set<Attention.HeadIndex> = []) -> [Float] {
        forward(ids, cache: &cache, ablating: ablated, patching: ActivationPatch())
    }

    /// ``forward(_:cache:ablating:)``, writing `patch`'s rows into each layer's input and its
    /// heads' `z` (activation patching).
    public func forward(_ ids: [Int], cache: inout KeyValueCache, ablating ablated: Set<Attention.HeadIndex>,
                        patching patch: ActivationPatch) -> [Float] {
        let c = configuration
        let start = cache.count
        let rotation = Rotation(headDimension: c.headDimension, base: c.ropeBase, positions: start..<(start + ids.count))
        // A pass from a later layer reads that layer's input from the patch.
        var x = patch.firstLayer > 0 ? Matrix(rows: ids.count, columns: c.hiddenSize) : weights.tokenEmbeddings.rows(at: ids)
        for (l, w) in weights.layers.enumerated() where l >= patch.firstLayer {
            let heads = Set(ablated.filter { $0.layer == l }.map(\.head))
            x = patch.residual(x, layer: l, first: start)
            let result = layer(x, w, rotation: rotation, ablated: heads, patched: patch.heads(layer: l), past: cache.layers[l])
            cache.layers[l] = (result.keys, result.values)
            x = result.trace.out
        }
        return logits(finalNorm(x.rows(((x.rows - 1)..<x.rows)))).values
    }
}
