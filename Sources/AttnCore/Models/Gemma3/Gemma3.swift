import Foundation

/// Google's Gemma 3 (270M) whose forward pass keeps every intermediate.
///
/// ```
/// x₀ = E[ids] · √d_model                                   scaled embeddings; ids start with <bos>
/// for each layer (local: the last 512 tokens, RoPE base 10⁴; every sixth global: all, 10⁶):
///     h = RMSNorm(x) ⊙ g_attn                              pre-norm
///     for each query head i (one key/value head j shared by all four):
///         q = RoPE(RMSNorm(h·W_Qᵀ [head i]) ⊙ g_q)          QK-norm, then the rotation
///         k = RoPE(RMSNorm(h·W_Kᵀ [head j]) ⊙ g_k),  v = h·W_Vᵀ [head j]
///         z_i = softmax(window(q·kᵀ / √256)) · v
///     attn_residual = x + RMSNorm([z₀ | … | z₃] · W_Oᵀ) ⊙ g_post_attn      a norm on each side
///     n = RMSNorm(attn_residual) ⊙ g_ffn
///     out = attn_residual + RMSNorm((GELU_tanh(n·W_gateᵀ) ⊙ n·W_upᵀ) · W_downᵀ) ⊙ g_post_ffn
/// logits = RMSNorm(out) ⊙ g_final · Eᵀ                     tied embeddings
/// ```
/// Gemma writes each norm's gain as `1 + w`; llama.cpp's converter stores the sum, which is what
/// the weights here hold.
public struct Gemma3: Sendable {
    public let configuration: Gemma3Configuration
    public let weights: Gemma3Weights
    public let tokenizer: SentencePieceTokenizer
    /// The GGUF file the model was loaded from.
    public let path: String
    /// How the file stores each tensor (Q8_0, Q5_0, Q4_K, …), by its GGUF name.
    public let storedTypes: [String: GGMLType]

    /// The file name inside the model directory.
    public static let fileName = "gemma-3-270m-q4_k_m.gguf"

    /// Loads a GGUF file, or the GGUF file inside a directory.
    public init(path: String) throws {
        let file = try GGUFFile.location(path, preferring: Self.fileName)
        let gguf = try GGUFFile(path: file)
        configuration = try Gemma3Configuration(gguf: gguf)
        // The weights (checked, some dequantized) and the tokenizer (262k pieces): on two cores at once.
        (weights, tokenizer) = try bothAtOnce({ [configuration] in try Gemma3Weights(file: gguf, configuration: configuration) },
                                              { try SentencePieceTokenizer(gguf: gguf) })
        storedTypes = gguf.tensors.mapValues(\.type)
        self.path = file
    }

    /// The embeddings the first layer reads: the token's row, times √d_model
    /// (``Gemma3Configuration/embeddingScale``).
    func scaledEmbeddings(_ ids: [Int]) -> (rows: Matrix, scaled: Matrix) {
        let rows = weights.tokenEmbeddings.rows(at: ids)
        let scale = configuration.embeddingScale
        return (rows, rows.map { $0 * scale })
    }

    /// The rotations of every layer kind for `positions`: local and global layers turn q and k
    /// at different speeds.
    func rotations(_ positions: Range<Int>) -> (local: Rotation, global: Rotation) {
        let c = configuration
        return (Rotation(headDimension: c.headDimension, base: c.localRopeBase, positions: positions),
                Rotation(headDimension: c.headDimension, base: c.globalRopeBase, positions: positions))
    }

    /// The forward pass over token ids, keeping every intermediate.
    /// - Parameter ablated: heads whose output is zeroed (their `z`), everything after recomputed.
    public func trace(ids: [Int], ablating ablated: Set<Attention.HeadIndex> = []) -> Trace {
        let c = configuration
        let (rows, embeddings) = scaledEmbeddings(ids)
        let rotations = rotations(0..<ids.count)
        var layers: [LayerTrace] = []
        var x = embeddings
        for (index, layerWeights) in weights.layers.enumerated() {
            let heads = Set(ablated.filter { $0.layer == index }.map(\.head))
            let rotation = c.isGlobal(index) ? rotations.global : rotations.local
            let layer = self.layer(x, layerWeights, index: index, rotation: rotation, ablated: heads).trace
            layers.append(layer)
            x = layer.out
        }
        return Trace(tokenIds: ids, tokens: ids.map(tokenLabel), tokenEmbeddings: rows,
                     embeddings: embeddings, layers: layers, finalNorm: finalNorm(x), unembedding: logits, isCausal: true,
                     steps: Set(Self.steps))
    }

    /// After the last layer: RMSNorm with the output gain (stored as 1 + w).        (T × d)
    public func finalNorm(_ x: Matrix) -> Matrix {
        rmsNorm(x, gain: weights.outputNorm, epsilon: configuration.rmsNormEpsilon)
    }

    /// A score for every token, from the Q8_0 embedding table as stored (tied).
    /// ```
    /// logits = final_norm · Eᵀ        (T × d) · (d × vocabulary) → (T × vocabulary)
    /// ```
    public func logits(_ finalNorm: Matrix) -> Matrix {
        finalNorm.multiplied(byTransposeOf: weights.tokenEmbeddings)
    }

    /// The gated feed-forward's intermediates: the layer computes its output from them, and a
    /// trace computes them again when they are shown.
    /// ```
    /// ffn_gate = ffn_norm · W_gateᵀ,  ffn_up = ffn_norm · W_upᵀ     (T × d) → (T × d_ff)
    /// ffn_act  = GELU_tanh(ffn_gate) ⊙ ffn_up
    /// ```
    func feedForward(_ n: Matrix, _ w: Gemma3LayerWeights) -> FeedForwardSteps {
        let gate = n.multiplied(byTransposeOf: w.gate)
        let up = n.multiplied(byTransposeOf: w.up)
        return FeedForwardSteps(gate: gate, up: up, activation: gatedGELU(gate: gate, up: up))
    }

    /// One Gemma 3 layer: RMSNorm, attention with QK-norm and RoPE over the layer's window, RMSNorm
    /// of its output, residual; RMSNorm, gated GELU feed-forward, RMSNorm of its output, residual.
    ///
    /// The one layer function of the model: ``trace(ids:ablating:)`` calls it with no past, a
    /// decoding step (``forward(_:cache:ablating:)``) with the cached keys and values, from
    /// position `past.start` on. It returns the layer's trace and the keys and values so far.
    /// - Parameter past: rotated keys and values of earlier positions, (P × kv·dₕ) each, and the
    ///   position of their first row.
    /// - Parameter patched: rows of heads' `z` to write (activation patching), by head and position.
    func layer(_ x: Matrix, _ w: Gemma3LayerWeights, index: Int, rotation: Rotation, ablated: Set<Int> = [],
               patched: [Int: [Int: [Float]]] = [:], past: (keys: Matrix, values: Matrix, start: Int)? = nil) -> (trace: LayerTrace, keys: Matrix, values: Matrix) {
        let c = configuration
        let dh = c.headDimension, eps = c.rmsNormEpsilon

        // Pre-norm, then project all heads at once and cut each head's columns. (A trace keeps x
        // and computes h again when it is shown, by `norm`; likewise the feed-forward's norm.)
        let norm: @Sendable () -> Matrix = { rmsNorm(x, gain: w.attentionNorm, epsilon: eps) }
        let h = norm()
        let queries = h.multiplied(byTransposeOf: w.query)   // (T × heads·dₕ)
        let keys = h.multiplied(byTransposeOf: w.key)        // (T × kv·dₕ)
        let values = h.multiplied(byTransposeOf: w.value)    // (T × kv·dₕ)

        // QK-norm: each head's key row is RMS-normalized (one gain per dimension, shared by the
        // heads), then rotated by its position and joined after the past keys.
        let keysBefore = (0..<c.keyValueHeads).map { Attention.headSlice(keys, head: $0, headDimension: dh) }
        let queryNorm: @Sendable (Matrix) -> Matrix = { rmsNorm($0, gain: w.queryNorm, epsilon: eps) }
        let keyNorm: @Sendable (Matrix) -> Matrix = { rmsNorm($0, gain: w.keyNorm, epsilon: eps) }
        let keysNormalized = keysBefore.map(keyNorm)
        let rotated = Matrix.concatenateColumns(keysNormalized.map(rotation.apply))
        let allKeys = past.map { Matrix.concatenateRows([$0.keys, rotated]) } ?? rotated       // (P+T × kv·dₕ)
        let allValues = past.map { Matrix.concatenateRows([$0.values, values]) } ?? values     // (P+T × kv·dₕ)
        let headKeys = (0..<c.keyValueHeads).map { Attention.headSlice(allKeys, head: $0, headDimension: dh) }
        let headValues = (0..<c.keyValueHeads).map { Attention.headSlice(allValues, head: $0, headDimension: dh) }
        // Query i is at position P + i; a local layer sees the last `slidingWindow` positions.
        let first = rotation.positions.lowerBound
        let mask: Attention.Mask = c.window(layer: index).map {
            .slidingWindow(queryStart: first, keyStart: past?.start ?? first, size: $0)
        } ?? .causal(past: past?.keys.rows ?? 0)

        let queriesBefore = (0..<c.attentionHeads).map { Attention.headSlice(queries, head: $0, headDimension: dh) }
        let queriesNormalized = queriesBefore.map(queryNorm)
        var heads = Attention.heads(queries: queriesNormalized.map(rotation.apply), keys: headKeys, values: headValues,
                                    mask: mask, ablated: ablated)
        // A trace computes the projections before RoPE, and their QK-norms, again when shown.
        for i in heads.indices {
            let j = i / c.groupSize
            let queries: @Sendable () -> Matrix = { Attention.headSlice(norm().multiplied(byTransposeOf: w.query), head: i, headDimension: dh) }
            let keys: @Sendable () -> Matrix = { Attention.headSlice(norm().multiplied(byTransposeOf: w.key), head: j, headDimension: dh) }
            heads[i].computeBeforeRotation = (queries: queries, keys: keys)
            heads[i].computeNormalized = (queries: { queryNorm(queries()) }, keys: { keyNorm(keys()) })
        }
        Attention.patch(&heads, patched, first: first)

        let concat = Matrix.concatenateColumns(heads.map(\.z))   // as LayerTrace.concat joins them again
        let attentionOutput = concat.multiplied(byTransposeOf: w.output)
        let attentionPostNorm = rmsNorm(attentionOutput, gain: w.postAttentionNorm, epsilon: eps)
        let attentionResidual: @Sendable () -> Matrix = { x + attentionPostNorm }
        let residual = attentionResidual()

        // The gated GELU: GELU_tanh(gate) ⊙ up, then down, then its own norm.
        let feedForwardNorm: @Sendable (Matrix) -> Matrix = { rmsNorm($0, gain: w.feedForwardNorm, epsilon: eps) }
        let n = feedForwardNorm(residual)
        let feedForwardInput: @Sendable () -> Matrix = { feedForwardNorm(attentionResidual()) }  // for a trace
        let down = feedForward(n, w).activation.multiplied(byTransposeOf: w.down)
        let feedForwardPostNorm = rmsNorm(down, gain: w.postFeedForwardNorm, epsilon: eps)
        let out = residual + feedForwardPostNorm

        var trace = LayerTrace(x: x, computeAttentionInput: norm, heads: heads, attentionOutput: attentionOutput,
                               computeAttentionResidual: attentionResidual,
                               computeFeedForwardInput: feedForwardInput, computeFeedForward: { [self] in feedForward(feedForwardInput(), w) },
                               feedForwardOutput: down, out: out)
        trace.attentionPostNorm = attentionPostNorm
        trace.feedForwardPostNorm = feedForwardPostNorm
        return (trace, allKeys, allValues)
    }
}

/// Gemma's gated GELU: `GELU_tanh(gate) ⊙ up` (transformers' `gelu_pytorch_tanh`).
public func gatedGELU(gate: Matrix, up: Matrix) -> Matrix {
    Matrix(rows: gate.rows, columns: gate.columns, values: zip(gate.values, up.values).map { g, u in geluTanh(g) * u })
}

extension Gemma3 {
    /// Runs `ids` at positions `cache.count…` through every layer, using and extending the cache,
    /// and returns the logits of the last position. The same layer function as
    /// ``trace(ids:ablating:)``; a local layer's cache keeps only the last `slidingWindow` − 1
    /// positions, all that its next query can see (global layers keep every position).
    public func forward(_ ids: [Int], cache: inout KeyValueCache, ablating ablated: Set<Attention.HeadIndex> = []) -> [Float] {
        forward(ids, cache: &cache, ablating: ablated, patching: ActivationPatch())
    }

    /// ``forward(_:cache:ablating:)``, writing `patch`'s rows into each layer's input and its
    /// heads' `z` (activation patching).
    public func forward(_ ids: [Int], cache: inout KeyValueCache, ablating ablated: Set<Attention.HeadIndex>,
                        patching patch: ActivationPatch) -> [Float] {
        let c = configuration
        let start = cache.count
        let rotations = rotations(start..<(start + ids.count))
        // A pass from a later layer reads that layer's input from the patch.
        var x = patch.firstLayer > 0 ? Matrix(rows: ids.count, columns: c.hiddenSize) : scaledEmbeddings(ids).scaled
        for (l, w) in weights.layers.enumerated() where l >= patch.firstLayer {
            let heads = Set(ablated.filter { $0.layer == l }.map(\.head))
            let past = cache.layers[l].map { ($0.keys, $0.values, cache.firstPositions[l]) }
            x = patch.residual(x, layer: l, first: start)
            let result = layer(x, w, index: l, rotation: c.isGlobal(l) ? rotations.global : rotations.local,
                               ablated: heads, patched: patch.heads(layer: l), past: past)
            var keys = result.keys, values = result.values, first = past?.2 ?? start
            if let window = c.window(layer: l), keys.rows > window - 1 {
                let drop = keys.rows - (window - 1)
                keys = keys.rows(drop..<keys.rows)
                values = values.rows(drop..<values.rows)
                first += drop
            }
            cache.layers[l] = (keys, values)
            cache.firstPositions[l] = first
            x = result.trace.out
        }
        return logits(finalNorm(x.rows(((x.rows - 1)..<x.rows)))).values
    }
}
