import Foundation

/// A BERT encoder (all-MiniLM-L6-v2, or any BERT checkpoint) whose forward pass keeps every
/// intermediate.
///
/// ```
/// embeddings = LN(token + position + type)
/// for each layer:
///     for each head h:  q, k, v = x·W_Qᵀ+b_Q, x·W_Kᵀ+b_K, x·W_Vᵀ+b_V   (this head's columns)
///                       z_h = softmax(mask(q·kᵀ / √dₕ)) · v
///     attn_out  = [z₀ | … | z₁₁] · W_Oᵀ + b_O
///     attn_norm = LN(x + attn_out)                       post-LayerNorm, as BERT
///     ffn_out   = GELU(attn_norm · W₁ᵀ + b₁) · W₂ᵀ + b₂
///     out       = LN(attn_norm + ffn_out)
/// ```
public struct Bert: Sendable {
    public let configuration: BertConfiguration
    public let weights: BertWeights
    public let tokenizer: WordPieceTokenizer
    /// The directory the model was loaded from.
    public let directory: String

    /// The files a model directory must hold.
    public static let requiredFiles = ["config.json", "model.safetensors", "vocab.txt"]

    /// Loads `config.json`, the safetensors weights (`model.safetensors` or shards) and the
    /// tokenizer (`tokenizer.json`, else `vocab.txt`) from `directory`.
    /// - Throws: `AttnError` naming the file and the problem.
    public init(directory: String) throws {
        func file(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        configuration = try BertConfiguration.load(path: file("config.json"))
        // The weights (mapped, every value checked to be finite) and the tokenizer (a 30522-token
        // tokenizer.json) read different files: on two cores at once.
        (weights, tokenizer) = try bothAtOnce({ [configuration] in
            try BertWeights(checkpoint: try SafeTensorsCheckpoint(directory: directory), configuration: configuration)
        }, { try WordPieceTokenizer(huggingFaceDirectory: directory) })
        guard tokenizer.vocabulary.count == configuration.vocabularySize else {
            let json = file("tokenizer.json")
            throw AttnError.vocabularyInvalid(
                path: FileManager.default.fileExists(atPath: json) ? json : file("vocab.txt"),
                reason: "it has \(tokenizer.vocabulary.count) tokens but config.json says vocab_size \(configuration.vocabularySize)")
        }
        self.directory = directory
    }

    /// Tokenizes `text` and runs the forward pass.
    /// - Throws: `.sequenceTooLong` beyond ``tokenLimit``.
    public func trace(_ text: String, ablating ablated: Set<Attention.HeadIndex> = []) throws -> Trace {
        let ids: [Int]
        do {
            ids = try tokenizer.encode(text, limit: tokenLimit)
        } catch AttnError.sequenceTooLong(let tokens, let limit, _) {
            // The limit may be the trace budget's rather than the model's positions: say which.
            throw AttnError.sequenceTooLong(tokens: tokens, limit: limit, context: sizes.context)
        }
        return trace(ids: ids, ablating: ablated)
    }

    /// The forward pass over token ids, keeping every intermediate.
    /// - Precondition: every id is below the vocabulary size and there are at most `maximumPositions`.
    /// - Parameter ablated: heads whose output is zeroed (their `z`), everything after recomputed.
    public func trace(ids: [Int], ablating ablated: Set<Attention.HeadIndex> = []) -> Trace {
        let t = ids.count
        precondition(t <= configuration.maximumPositions)
        let (token, position, type, embeddings) = embed(ids, positions: Array(0..<t))

        // One sentence, no padding: every key is real. The step exists all the same.
        let mask = Attention.Mask.padding([Bool](repeating: true, count: t))
        var layers: [LayerTrace] = []
        var x = embeddings
        for (index, layerWeights) in weights.layers.enumerated() {
            let heads = Set(ablated.filter { $0.layer == index }.map(\.head))
            let layer = self.layer(x, layerWeights, mask: mask, ablated: heads)
            layers.append(layer)
            x = layer.out
        }
        return Trace(tokenIds: ids, tokens: tokenizer.tokens(ids),
                     tokenEmbeddings: token, positionEmbeddings: position, typeEmbeddings: type,
                     embeddings: embeddings, layers: layers, steps: Set(Self.steps))
    }

    /// The embeddings: three table look-ups, summed, then LayerNorm.
    /// ```
    /// embeddings = LayerNorm(E_token[ids] + E_position[positions] + E_type[0])
    /// ```
    func embed(_ ids: [Int], positions: [Int]) -> (token: Matrix, position: Matrix, type: Matrix, embeddings: Matrix) {
        let token = weights.wordEmbeddings.lookUp(ids)
        let position = weights.positionEmbeddings.rows(at: positions)
        let type = weights.typeEmbeddings.rows(at: [Int](repeating: 0, count: ids.count))
        let embeddings = (token + position + type).layerNormRows(
            gamma: weights.embeddingNorm.gamma, beta: weights.embeddingNorm.beta,
            epsilon: configuration.layerNormEpsilon)
        return (token, position, type, embeddings)
    }

    /// The last layer's `out` of several inputs, from one forward pass over all of them side by
    /// side: the same layers as ``trace(ids:ablating:)``, with each input's positions counted
    /// from 0 and a mask that keeps each query inside its own input. LIME's samples run this way,
    /// a few hundred rows per product instead of twenty.
    /// ```
    /// X = [x₁; x₂; …]  (Σ Tᵢ × d),   allowed(i, j) ⇔ i and j in the same input
    /// ```
    /// - Precondition: every input has 1…`maximumPositions` ids, each below the vocabulary size.
    public func finalHiddenStates(batch: [[Int]], ablating ablated: Set<Attention.HeadIndex> = []) -> [Matrix] {
        precondition(batch.allSatisfy { (1...configuration.maximumPositions).contains($0.count) })
        var starts: [Int] = [], total = 0
        for ids in batch {
            starts.append(total)
            total += ids.count
        }
        let mask = Attention.Mask.sentences(starts: starts)
        var x = embed(batch.flatMap { $0 }, positions: batch.flatMap { Array(0..<$0.count) }).embeddings
        for (index, layerWeights) in weights.layers.enumerated() {
            let heads = Set(ablated.filter { $0.layer == index }.map(\.head))
            x = layer(x, layerWeights, mask: mask, ablated: heads).out
        }
        return zip(starts, batch).map { start, ids in x.rows(start..<(start + ids.count)) }
    }

    /// One encoder layer: multi-head self-attention, then the feed-forward, each followed by a
    /// residual connection and LayerNorm.
    func layer(_ x: Matrix, _ w: BertLayerWeights, mask: Attention.Mask, ablated: Set<Int> = []) -> LayerTrace {
        let c = configuration
        let dh = c.headDimension

        // Project all heads at once (T × d) · (d × d) → (T × d); each head reads its columns.
        let heads = Attention.heads(queries: w.query(x), keys: w.key(x), values: w.value(x), count: c.attentionHeads,
                                    headDimension: dh, mask: mask, ablated: ablated)

        // Join the heads and project back to d_model.
        let concat = Matrix.concatenateColumns(heads.map(\.z))   // as LayerTrace.concat joins them again
        let attentionOutput = w.attentionOutput(concat)
        let attentionNorm = (x + attentionOutput).layerNormRows(
            gamma: w.attentionNorm.gamma, beta: w.attentionNorm.beta, epsilon: c.layerNormEpsilon)

        // Feed-forward: widen to d_ff, GELU (or the configuration's activation), narrow back to d_model.
        let feedForwardOutput = w.output(feedForward(attentionNorm, w).activation)
        let out = (attentionNorm + feedForwardOutput).layerNormRows(
            gamma: w.outputNorm.gamma, beta: w.outputNorm.beta, epsilon: c.layerNormEpsilon)

        return LayerTrace(x: x, heads: heads, attentionOutput: attentionOutput,
                          attentionNorm: attentionNorm, computeFeedForward: { [self] in feedForward(attentionNorm, w) },
                          feedForwardOutput: feedForwardOutput, out: out)
    }

    /// The feed-forward's intermediates: the layer computes its output from them, and a trace
    /// computes them again when they are shown.
    /// ```
    /// ffn_hidden = attn_norm · W₁ + b₁        (T × d) → (T × d_ff)
    /// ffn_act    = GELU(ffn_hidden)           (the configuration's activation)
    /// ```
    func feedForward(_ attentionNorm: Matrix, _ w: BertLayerWeights) -> FeedForwardSteps {
        let hidden = w.intermediate(attentionNorm)
        return FeedForwardSteps(hidden: hidden, activation: configuration.activation(hidden))
    }
}
