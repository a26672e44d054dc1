/// One decoder layer's weights, in PyTorch layout (out × in) and Hugging Face's row order.
public struct LlamaLayerWeights: Sendable {
    public let attentionNorm: [Float]
    public let query: Matrix, key: Matrix, value: Matrix, output: Matrix
    public let feedForwardNorm: [Float]
    public let gate: Matrix, up: Matrix, down: Matrix
}

/// All the weights of a Llama GGUF checkpoint, dequantized to float32.
///
/// ``LlamaWeights/checkpointName(_:layer:)`` maps fields to GGUF tensor names in one place.
/// llama.cpp's converter permutes the rows of `attn_q` and `attn_k` so that its RoPE can rotate
/// adjacent pairs `(2i, 2i+1)`; Hugging Face rotates `(i, i + dₕ/2)`. Loading undoes the
/// permutation, so q and k are shown — and computed — in Hugging Face's layout:
/// ```
/// W_hf[h·dₕ + j·dₕ/2 + i] = W_gguf[h·dₕ + 2i + j]        j ∈ {0, 1}, i < dₕ/2
/// ```
public struct LlamaWeights: Sendable {
    public let tokenEmbeddings: Matrix      // vocabulary × d (also the output projection: tied)
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

    /// Dequantizes every tensor, checking names and shapes.
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
        let loaded = try GGUFWeightLoader.load(file, jobs.map { (Self.checkpointName($0.0, layer: $0.1), Self.expectedShape($0.0, c)) })
        let matrices = zip(jobs, loaded).map { job, matrix in
            switch job.0 {
            case .query: Self.unpermute(matrix, heads: c.attentionHeads)
            case .key: Self.unpermute(matrix, heads: c.keyValueHeads)
            default: matrix
            }
        }
        tokenEmbeddings = matrices[0]
        outputNorm = matrices[1].values
        layers = (0..<c.hiddenLayers).map { l in
            let m = matrices[(2 + 9 * l)..<(2 + 9 * (l + 1))].map { $0 }
            return LlamaLayerWeights(attentionNorm: m[0].values, query: m[1], key: m[2], value: m[3], output: m[4],
                                     feedForwardNorm: m[5].values, gate: m[6], up: m[7], down: m[8])
        }
    }

    /// Undoes llama.cpp's row permutation of a q or k weight (see the type's documentation).
    static func unpermute(_ w: Matrix, heads: Int) -> Matrix {
        let dh = w.rows / heads, half = dh / 2
        var out = Matrix(rows: w.rows, columns: w.columns)
        for h in 0..<heads {
            for j in 0..<2 {
                for i in 0..<half {
                    let source = h * dh + 2 * i + j, target = h * dh + j * half + i
                    for c in 0..<w.columns { out.values[target * w.columns + c] = w.values[source * w.columns + c] }
                }
            }
        }
        return out
    }
}
