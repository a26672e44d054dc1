/// One decoder layer's weights, in PyTorch layout (out × in) and Hugging Face's row order.
public struct LlamaLayerWeights: Sendable {
    public let attentionNorm: [Float]
    public let query: StoredMatrix, key: StoredMatrix, value: StoredMatrix, output: StoredMatrix
    public let feedForwardNorm: [Float]
    public let gate: StoredMatrix, up: StoredMatrix, down: StoredMatrix
}

/// All the weights of a Llama GGUF checkpoint: Q8_0 and Q4_1 matrices left in the file's mapping
/// as stored (``QuantizedMatrix``), any other type dequantized to float32 at load.
///
/// ``LlamaWeights/checkpointName(_:layer:)`` maps fields to GGUF tensor names in one place.
/// llama.cpp's converter permutes the rows of `attn_q` and `attn_k` so that its RoPE can rotate
/// adjacent pairs `(2i, 2i+1)`; Hugging Face rotates `(i, i + dₕ/2)`. Loading undoes the
/// permutation, so q and k are shown — and computed — in Hugging Face's layout:
/// ```
/// W_hf[h·dₕ + j·dₕ/2 + i] = W_gguf[h·dₕ + 2i + j]        j ∈ {0, 1}, i < dₕ/2
/// ```
public struct LlamaWeights: Sendable {
    public let tokenEmbeddings: StoredMatrix      // vocabulary × d (also the output projection: tied)
    public let layers: [LlamaLayerWeights]
    public let outputNorm: [Float]

    public enum Field: Sendable, CaseIterable {
        case tokenEmbeddings, outputNorm
        case attentionNorm, query, key, value, output, feedForwardNorm, gate, up, down
    }

    /// The GGUF name of a field, e.g. `blk.2.attn_q.weight`.
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
        case .feedForwardNorm: return "\(b).ffn_norm.weight"
        case .gate: return "\(b).ffn_gate.weight"
        case .up: return "\(b).ffn_up.weight"
        case .down: return "\(b).ffn_down.weight"
        }
    }

    /// The shape (rows × columns, PyTorch order) a field must have.
    public static func expectedShape(_ field: Field, _ c: LlamaConfiguration) -> [Int] {
        let d = c.hiddenSize, kv = c.keyValueHeads * c.headDimension, f = c.intermediateSize
        switch field {
        case .tokenEmbeddings: return [c.vocabularySize, d]
        case .outputNorm, .attentionNorm, .feedForwardNorm: return [1, d]
        case .query, .output: return [d, d]
        case .key, .value: return [kv, d]
        case .gate, .up: return [f, d]
        case .down: return [d, f]
        }
    }

    /// Reads every tensor, checking names and shapes first.
    /// - Throws: `.tensorMissing`, `.tensorShape`, `.tensorUnexpected`, `.tensorNotFinite`,
    ///   `.modelTooLarge` beyond ``ModelBudget/maximumWeightBytes``, or a GGUF error.
    public init(file: GGUFFile, configuration c: LlamaConfiguration) throws {
        // Every (field, layer) to read.
        var jobs: [(Field, Int)] = [(.tokenEmbeddings, 0), (.outputNorm, 0)]
        for l in 0..<c.hiddenLayers {
            for field in [Field.attentionNorm, .query, .key, .value, .output, .feedForwardNorm, .gate, .up, .down] {
                jobs.append((field, l))
            }
        }
        try GGUFWeightLoader.check(file, jobs.map { (Self.checkpointName($0.0, layer: $0.1), Self.expectedShape($0.0, c)) })
        func stored(_ field: Field, _ layer: Int = 0) throws -> StoredMatrix {
            try file.storedMatrix(Self.checkpointName(field, layer: layer))
        }
        func vector(_ field: Field, _ layer: Int = 0) throws -> [Float] {
            try file.floats(Self.checkpointName(field, layer: layer), requiringFinite: true)
        }
        tokenEmbeddings = try stored(.tokenEmbeddings)
        outputNorm = try vector(.outputNorm)
        layers = try (0..<c.hiddenLayers).map { l in
            LlamaLayerWeights(attentionNorm: try vector(.attentionNorm, l),
                              query: Self.unpermute(try stored(.query, l), heads: c.attentionHeads),
                              key: Self.unpermute(try stored(.key, l), heads: c.keyValueHeads),
                              value: try stored(.value, l), output: try stored(.output, l),
                              feedForwardNorm: try vector(.feedForwardNorm, l),
                              gate: try stored(.gate, l), up: try stored(.up, l), down: try stored(.down, l))
        }
    }

    /// Undoes llama.cpp's row permutation of a q or k weight (see the type's documentation).
    /// Whole rows move, so a quantized weight stays quantized.
    static func unpermute(_ w: StoredMatrix, heads: Int) -> StoredMatrix {
        let dh = w.rows / heads, half = dh / 2
        var order = [Int](repeating: 0, count: w.rows)   // order[target] = source
        for h in 0..<heads {
            for j in 0..<2 {
                for i in 0..<half { order[h * dh + j * half + i] = h * dh + 2 * i + j }
            }
        }
        switch w {
        case let .dense(m): return .dense(m.rows(at: order))
        case let .quantized(m): return .quantized(m.reorderingRows(order))
        }
    }
}
