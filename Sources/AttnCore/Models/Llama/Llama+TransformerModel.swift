import Foundation

/// Llama as the notebook sees it: its steps, where each comes from in the GGUF file (and how
/// the file stores it), and its weights under the names of the learner's math.
extension Llama: DecoderModel {
    public static let architecture = "Llama decoder"

    /// Opens a GGUF file, or the GGUF file in a directory.
    public init(opening location: String) throws {
        guard FileManager.default.fileExists(atPath: location) else {
            throw AttnError.fileUnreadable(path: location, reason: "no such .gguf file or directory")
        }
        try self.init(path: location)
    }

    public var location: String { path }

    public var sizes: ModelSizes { Self.sizes(configuration) }

    /// From the GGUF file's metadata (a directory: its .gguf file), no tensor dequantized.
    public static func sizes(at location: String) throws -> ModelSizes {
        sizes(try LlamaConfiguration(gguf: GGUFFile(path: GGUFFile.location(location, preferring: fileName))))
    }

    static func sizes(_ c: LlamaConfiguration) -> ModelSizes {
        ModelSizes(layers: c.hiddenLayers, heads: c.attentionHeads, keyValueHeads: c.keyValueHeads,
                   headDimension: c.headDimension, modelDimension: c.hiddenSize,
                   feedForwardDimension: c.intermediateSize, vocabulary: c.vocabularySize,
                   context: c.contextLength)
    }

    public var normalizationEpsilon: Float { configuration.rmsNormEpsilon }
    public var ropeBase: Float? { configuration.ropeBase }

    public static let steps: [Step] = [
        .embeddings, .x, .rmsnorm, .queriesBeforeRotation, .keysBeforeRotation, .q, .k, .v, .scores, .scaled,
        .masked, .weights, .z, .concat, .attentionOutput, .attentionResidual, .feedForwardInput, .feedForwardGate,
        .feedForwardUp, .feedForwardActivation, .feedForwardOutput, .out, .finalNorm, .logits,
    ]

    public var stepFormulas: [Step: String] { [
        .embeddings: "embeddings = E_token[ids]",
        .q: "q = RoPE(q_prerope)",
        .k: "k = RoPE(k_prerope)   (key/value head {KV})",
        .v: "v = rmsnorm · W_V   (key/value head {KV})",
        .masked: "masked = scaled + causal mask (−∞ above the diagonal)",
        .feedForwardActivation: "ffn_act = SiLU(ffn_gate) ⊙ ffn_up",
        .out: "out = attn_residual + ffn_out",
    ] }

    /// The GGUF tensors of a step. q and k are shown in Hugging Face's layout: their weights load
    /// with llama.cpp's row permutation undone.
    public func provenance(of step: Step, layer: Int, head: Int) -> [String] {
        let c = configuration
        let dh = c.headDimension
        let kv = head / c.groupSize
        func name(_ f: LlamaWeights.Field) -> String { LlamaWeights.checkpointName(f, layer: layer) }
        func stored(_ f: LlamaWeights.Field) -> String { storedTypes[name(f)]?.name ?? "?" }
        let queryRows = "\(head * dh)…\((head + 1) * dh - 1)", keyRows = "\(kv * dh)…\((kv + 1) * dh - 1)"
        let group = (kv * c.groupSize..<((kv + 1) * c.groupSize)).map(String.init).joined(separator: ", ")
        switch step {
        case .embeddings, .tokenEmbeddings:
            return ["E = \(name(.tokenEmbeddings))  [\(c.vocabularySize) × \(c.hiddenSize)], \(stored(.tokenEmbeddings))"]
        case .rmsnorm: return ["layer \(layer): g = \(name(.attentionNorm)), ε = \(c.rmsNormEpsilon)"]
        case .queriesBeforeRotation, .q:
            return ["layer \(layer), head \(head): W_Q = \(name(.query))[\(queryRows)]ᵀ",
                    "  (\(stored(.query)); rows put back in Hugging Face's order: pairs are i and i + \(dh / 2))"]
        case .keysBeforeRotation, .k, .v:
            let tensor = step == .v ? name(.value) : name(.key)
            return ["layer \(layer), head \(head) reads key/value head \(kv) (shared by query heads \(group))",
                    "  W_\(step == .v ? "V" : "K") = \(tensor)[\(keyRows)]ᵀ"]
        case .scores, .scaled, .weights, .z:
            return ["layer \(layer), head \(head) (key/value head \(kv))"]
        case .masked: return ["layer \(layer), head \(head): −∞ above the diagonal, a token sees only itself and the past"]
        case .attentionOutput: return ["layer \(layer): W_O = \(name(.output))ᵀ  [\(c.hiddenSize) × \(c.hiddenSize)]"]
        case .feedForwardInput: return ["layer \(layer): g = \(name(.feedForwardNorm))"]
        case .feedForwardGate: return ["layer \(layer): W_gate = \(name(.gate))ᵀ  [\(c.hiddenSize) × \(c.intermediateSize)]"]
        case .feedForwardUp: return ["layer \(layer): W_up = \(name(.up))ᵀ  [\(c.hiddenSize) × \(c.intermediateSize)]"]
        case .feedForwardOutput: return ["layer \(layer): W_down = \(name(.down))ᵀ  [\(c.intermediateSize) × \(c.hiddenSize)]"]
        case .finalNorm: return ["g = \(LlamaWeights.checkpointName(.outputNorm))"]
        case .logits: return ["Eᵀ = \(LlamaWeights.checkpointName(.tokenEmbeddings))ᵀ (the output is tied to the input embeddings)"]
        default: return step.scope == .layer ? ["layer \(layer)"] : []
        }
    }

    public static let boundNames = ["X", "Q", "K", "V", "W_Q", "W_K", "W_V", "W_O",
                                    "scores", "scaled", "masked", "M", "weights", "Z", "dk", "T", "ids",
                                    "H", "Q_pre", "K_pre", "g_attn", "g_ffn", "W_gate", "W_up", "W_down", "COS", "SIN", "E", "g_final"]

    /// W_Q is the head's dₕ rows, W_K and W_V its key/value head's; H, Q_pre and K_pre come from
    /// the trace (the normed input, q and k before RoPE); COS and SIN are RoPE's tables as Hugging
    /// Face writes them, q' = q ⊙ COS + rotate_half(q) ⊙ SIN, (T × dₕ).
    public func weight(named name: String, layer: Int, head: Int, trace: Trace) -> Matrix? {
        let c = configuration
        let w = weights.layers[layer], h = trace.layers[layer].heads[head]
        let dh = c.headDimension, kv = h.keyValueHead
        func row(_ values: [Float]) -> Matrix { Matrix(rows: 1, columns: values.count, values: values) }
        func rope() -> Rotation { Rotation(headDimension: dh, base: c.ropeBase, positions: 0..<trace.count) }
        switch name {
        case "H": return trace.layers[layer].attentionInput
        case "Q_pre": return h.queriesBeforeRotation
        case "K_pre": return h.keysBeforeRotation
        case "W_Q": return w.query.rows((head * dh)..<((head + 1) * dh)).transposed
        case "W_K": return w.key.rows((kv * dh)..<((kv + 1) * dh)).transposed
        case "W_V": return w.value.rows((kv * dh)..<((kv + 1) * dh)).transposed
        case "W_O": return w.output.matrix.transposed
        case "g_attn": return row(w.attentionNorm)
        case "g_ffn": return row(w.feedForwardNorm)
        case "W_gate": return w.gate.matrix.transposed
        case "W_up": return w.up.matrix.transposed
        case "W_down": return w.down.matrix.transposed
        case "COS": let r = rope(); return Matrix.concatenateColumns([r.cosines, r.cosines])
        case "SIN": let r = rope(); return Matrix.concatenateColumns([r.sines, r.sines])
        // The token embeddings, also the output projection (tied): logits = final_norm @ E.T.
        case "E": return weights.tokenEmbeddings.matrix
        case "g_final": return row(weights.outputNorm)
        default: return nil
        }
    }

    public func text(of ids: [Int]) -> String { tokenizer.decode(ids) }
}
