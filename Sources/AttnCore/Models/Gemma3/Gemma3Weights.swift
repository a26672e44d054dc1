/// One Gemma 3 layer's weights, in PyTorch layout (out × in). The norm gains are as the GGUF
/// stores them: llama.cpp's converter folds Gemma's `1 + w` into the file, so each gain is the
/// whole factor the normalized row is multiplied by (see ``Gemma3``).
public struct Gemma3LayerWeights: Sendable {
    public let attentionNorm: [Float]
    public let query: StoredMatrix, key: StoredMatrix, value: StoredMatrix, output: StoredMatrix
    /// QK-norm's gains, one per dimension of a head (dₕ), shared by every head.
    public let queryNorm: [Float], keyNorm: [Float]
    public let postAttentionNorm: [Float]
    public let feedForwardNorm: [Float]
    public let gate: StoredMatrix, up: StoredMatrix, down: StoredMatrix
    public let postFeedForwardNorm: [Float]
}

/// All the weights of a Gemma 3 GGUF checkpoint: its Q8_0 tensors (the table, some `attn_v` and
/// `ffn_down`) left in the file's mapping as stored (``QuantizedMatrix``), the rest (Q5_0, Q4_K,
/// Q6_K) dequantized to float32 at load (GGUFFile spreads each tensor's blocks over the cores).
///
/// ``Gemma3Weights/checkpointName(_:layer:)`` maps fields to GGUF tensor names in one place.
/// Unlike Llama's, the converter does not permute q and k: Gemma's RoPE rotates the halves
/// `(i, i + dₕ/2)` in llama.cpp as in Hugging Face, so the rows are used as stored.
public struct Gemma3Weights: Sendable {
    /// vocabulary × d, also the output projection (tied); Q8_0 in the file's mapping when the
    /// file stores it so (262,144 × 640: 178 MB instead of 671 MB of float32).
    public let tokenEmbeddings: StoredMatrix
    public let layers: [Gemma3LayerWeights]
    public let outputNorm: [Float]

    public enum Field: Sendable, CaseIterable {
        case tokenEmbeddings, outputNorm
        case attentionNorm, query, key, value, output, queryNorm, keyNorm, postAttentionNorm
        case feedForwardNorm, gate, up, down, postFeedForwardNorm
    }

    /// The fields of one layer, in the order they are read.
    static let layerFields: [Field] = [.attentionNorm, .query, .key, .value, .output, .queryNorm, .keyNorm,
                                       .postAttentionNorm, .feedForwardNorm, .gate, .up, .down, .postFeedForwardNorm]

    /// The GGUF name of a field, e.g. `blk.2.attn_q_norm.weight`.
    public static func checkpointName(_ field: Field, layer: Int = 0) -> String {
        let b = "blk.\(layer)"
        switch field {
        case .tokenEmbeddings: return "token_embd.weight"
        case .outputNorm: return "output_norm.weight"
        case .attentionNorm: return "\(b).attn_norm.weight"
        case .query: return "\(b).attn_q.weight"
        case .key: return "\(b).attn_k.weight"
        case .value: return "\(b).attn_v.weight"
        case .output: return "\(b).attn_output.weight"
        case .queryNorm: return "\(b).attn_q_norm.weight"
        case .keyNorm: return "\(b).attn_k_norm.weight"
        case .postAttentionNorm: return "\(b).post_attention_norm.weight"
        case .feedForwardNorm: return "\(b).ffn_norm.weight"
        case .gate: return "\(b).ffn_gate.weight"
        case .up: return "\(b).ffn_up.weight"
        case .down: return "\(b).ffn_down.weight"
        case .postFeedForwardNorm: return "\(b).post_ffw_norm.weight"
        }
    }

    /// The shape (rows × columns, PyTorch order) a field must have.
    public static func expectedShape(_ field: Field, _ c: Gemma3Configuration) -> [Int] {
        let d = c.hiddenSize, q = c.attentionHeads * c.headDimension, kv = c.keyValueHeads * c.headDimension
        let f = c.intermediateSize
        switch field {
        case .tokenEmbeddings: return [c.vocabularySize, d]
        case .outputNorm, .attentionNorm, .postAttentionNorm, .feedForwardNorm, .postFeedForwardNorm: return [1, d]
        case .queryNorm, .keyNorm: return [1, c.headDimension]
        case .query: return [q, d]
        case .key, .value: return [kv, d]
        case .output: return [d, q]
        case .gate, .up: return [f, d]
        case .down: return [d, f]
        }
    }

    /// Reads every tensor, checking names and shapes first.
    /// - Throws: `.tensorMissing`, `.tensorShape`, `.tensorUnexpected`, `.tensorNotFinite`,
    ///   `.modelTooLarge` beyond ``ModelBudget/maximumWeightBytes``, or a GGUF error.
    public init(file: GGUFFile, configuration c: Gemma3Configuration) throws {
        var jobs: [(Field, Int)] = [(.tokenEmbeddings, 0), (.outputNorm, 0)]
        for l in 0..<c.hiddenLayers { jobs += Self.layerFields.map { ($0, l) } }
        let wanted = jobs.map { (name: Self.checkpointName($0.0, layer: $0.1), shape: Self.expectedShape($0.0, c)) }
        try GGUFWeightLoader.check(file, wanted)
        func stored(_ field: Field, _ layer: Int) throws -> StoredMatrix {
            try file.storedMatrix(Self.checkpointName(field, layer: layer))
        }
        func vector(_ field: Field, _ layer: Int = 0) throws -> [Float] {
            try file.floats(Self.checkpointName(field, layer: layer), requiringFinite: true)
        }
        tokenEmbeddings = try stored(.tokenEmbeddings, 0)
        outputNorm = try vector(.outputNorm)
        layers = try (0..<c.hiddenLayers).map { l in
            Gemma3LayerWeights(attentionNorm: try vector(.attentionNorm, l), query: try stored(.query, l),
                               key: try stored(.key, l), value: try stored(.value, l), output: try stored(.output, l),
                               queryNorm: try vector(.queryNorm, l), keyNorm: try vector(.keyNorm, l),
                               postAttentionNorm: try vector(.postAttentionNorm, l),
                               feedForwardNorm: try vector(.feedForwardNorm, l), gate: try stored(.gate, l),
                               up: try stored(.up, l), down: try stored(.down, l),
                               postFeedForwardNorm: try vector(.postFeedForwardNorm, l))
        }
    }
}
