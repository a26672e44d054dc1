import Foundation

/// Gemma 3 as the notebook sees it: its steps, where each comes from in the GGUF file (and how
/// the file stores it), its weights under the names of the learner's math, and which layers are
/// local.
extension Gemma3: DecoderModel {
    public static let architecture = "Gemma 3 decoder"

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
        sizes(try Gemma3Configuration(gguf: GGUFFile(path: GGUFFile.location(location, preferring: fileName))))
    }

    static func sizes(_ c: Gemma3Configuration) -> ModelSizes {
        ModelSizes(layers: c.hiddenLayers, heads: c.attentionHeads, keyValueHeads: c.keyValueHeads,
                   headDimension: c.headDimension, modelDimension: c.hiddenSize,
                   feedForwardDimension: c.intermediateSize, vocabulary: c.vocabularySize,
                   context: c.contextLength)
    }

    public var normalizationEpsilon: Float { configuration.rmsNormEpsilon }
    /// The global layers' base; ``ropeBase(layer:)`` gives each layer's.
    public var ropeBase: Float? { configuration.globalRopeBase }
    public func ropeBase(layer: Int) -> Float? { configuration.ropeBase(layer: layer) }
    public func attentionWindow(layer: Int) -> Int? { configuration.window(layer: layer) }
    /// Gemma 3 has no chat template in this GGUF file.
    public var chatTemplate: String? { nil }

    public static let steps: [Step] = [
        .tokenEmbeddings, .embeddings, .x, .rmsnorm, .queriesBeforeRotation, .keysBeforeRotation,
        .queriesNormalized, .keysNormalized, .q, .k, .v, .scores, .scaled, .masked, .weights, .z, .concat,
        .attentionOutput, .attentionPostNorm, .attentionResidual, .feedForwardInput, .feedForwardGate, .feedForwardUp,
        .feedForwardActivation, .feedForwardOutput, .feedForwardPostNorm, .out, .finalNorm, .logits,
    ]

    public var stepFormulas: [Step: String] { [
        .embeddings: "embeddings = E_token[ids] · √\(configuration.hiddenSize)",
        .queriesNormalized: "q_norm = RMSNorm(q_prerope) ⊙ g_q   (per head, over its {D} dimensions)",
        .keysNormalized: "k_norm = RMSNorm(k_prerope) ⊙ g_k   (key/value head {KV})",
        .q: "q = RoPE(q_norm)",
        .k: "k = RoPE(k_norm)   (key/value head {KV})",
        .v: "v = rmsnorm · W_V   (key/value head {KV})",
        .scaled: "scaled = scores / √{D}   (query_pre_attn_scalar = {D})",
        .masked: "masked = scaled + mask   ({WINDOW})",
        .attentionPostNorm: "post_attn_norm = RMSNorm(attn_out) ⊙ g_post_attn",
        .attentionResidual: "attn_residual = x + post_attn_norm",
        .feedForwardActivation: "ffn_act = GELU_tanh(ffn_gate) ⊙ ffn_up",
        .feedForwardPostNorm: "post_ffn_norm = RMSNorm(ffn_out) ⊙ g_post_ffn",
        .out: "out = attn_residual + post_ffn_norm",
    ] }

    /// The GGUF tensors of a step, with each stored type.
    public func provenance(of step: Step, layer: Int, head: Int) -> [String] {
        let c = configuration
        let dh = c.headDimension
        let kv = head / c.groupSize
        func name(_ f: Gemma3Weights.Field) -> String { Gemma3Weights.checkpointName(f, layer: layer) }
        func stored(_ f: Gemma3Weights.Field) -> String { storedTypes[name(f)]?.name ?? "?" }
        func gain(_ f: Gemma3Weights.Field) -> String {
            "layer \(layer): g = \(name(f)) (1 + w, as the converter stored it), ε = \(c.rmsNormEpsilon)"
        }
        let queryRows = "\(head * dh)…\((head + 1) * dh - 1)", keyRows = "\(kv * dh)…\((kv + 1) * dh - 1)"
        let group = (kv * c.groupSize..<((kv + 1) * c.groupSize)).map(String.init).joined(separator: ", ")
        let kind = describeLayer(layer)
        switch step {
        case .tokenEmbeddings:
            return ["E = \(name(.tokenEmbeddings))  [\(c.vocabularySize) × \(c.hiddenSize)], \(stored(.tokenEmbeddings))"]
        case .embeddings:
            return ["E = \(name(.tokenEmbeddings))  [\(c.vocabularySize) × \(c.hiddenSize)], \(stored(.tokenEmbeddings)), times √\(c.hiddenSize) = \(String(format: "%.4f", Double(c.embeddingScale)))"]
        case .rmsnorm: return [gain(.attentionNorm)]
        case .queriesBeforeRotation:
            return ["layer \(layer), head \(head): W_Q = \(name(.query))[\(queryRows)]ᵀ  (\(stored(.query)))"]
        case .queriesNormalized, .q:
            return ["layer \(layer), head \(head): g_q = \(name(.queryNorm)) (shared by the heads)"]
                + (step == .q ? ["  RoPE base \(Int(c.ropeBase(layer: layer))) (\(kind) layer)"] : [])
        case .keysBeforeRotation, .v:
            let tensor = step == .v ? name(.value) : name(.key)
            let type = step == .v ? stored(.value) : stored(.key)
            return ["layer \(layer), head \(head) reads key/value head \(kv) (shared by query heads \(group))",
                    "  W_\(step == .v ? "V" : "K") = \(tensor)[\(keyRows)]ᵀ  (\(type))"]
        case .keysNormalized, .k:
            return ["layer \(layer), head \(head) reads key/value head \(kv): g_k = \(name(.keyNorm))"]
                + (step == .k ? ["  RoPE base \(Int(c.ropeBase(layer: layer))) (\(kind) layer)"] : [])
        case .scores, .scaled, .weights, .z:
            return ["layer \(layer) (\(kind)), head \(head) (key/value head \(kv))"]
        case .masked:
            if let window = c.window(layer: layer) {
                return ["layer \(layer), head \(head): local: −∞ above the diagonal and more than \(window - 1) tokens back; a token sees itself and the \(window - 1) before it"]
            }
            return ["layer \(layer), head \(head): global: −∞ above the diagonal, a token sees itself and the whole past"]
        case .attentionOutput: return ["layer \(layer): W_O = \(name(.output))ᵀ  [\(c.attentionHeads * dh) × \(c.hiddenSize)], \(stored(.output))"]
        case .attentionPostNorm: return [gain(.postAttentionNorm)]
        case .feedForwardInput: return [gain(.feedForwardNorm)]
        case .feedForwardGate: return ["layer \(layer): W_gate = \(name(.gate))ᵀ  [\(c.hiddenSize) × \(c.intermediateSize)], \(stored(.gate))"]
        case .feedForwardUp: return ["layer \(layer): W_up = \(name(.up))ᵀ  [\(c.hiddenSize) × \(c.intermediateSize)], \(stored(.up))"]
        case .feedForwardOutput: return ["layer \(layer): W_down = \(name(.down))ᵀ  [\(c.intermediateSize) × \(c.hiddenSize)], \(stored(.down))"]
        case .feedForwardPostNorm: return [gain(.postFeedForwardNorm)]
        case .finalNorm: return ["g = \(Gemma3Weights.checkpointName(.outputNorm)) (1 + w), ε = \(c.rmsNormEpsilon)"]
        case .logits: return ["Eᵀ = \(Gemma3Weights.checkpointName(.tokenEmbeddings))ᵀ (the output is tied to the input embeddings)"]
        default: return step.scope == .layer ? ["layer \(layer) (\(kind))"] : []
        }
    }

    /// `local (window 512)` or `global`.
    func describeLayer(_ layer: Int) -> String {
        configuration.window(layer: layer).map { "local, window \($0)" } ?? "global"
    }

    public static let boundNames = ["X", "Q", "K", "V", "W_Q", "W_K", "W_V", "W_O",
                                    "scores", "scaled", "masked", "M", "weights", "Z", "dk", "T", "ids",
                                    "H", "Q_pre", "K_pre", "Q_norm", "K_norm", "g_q", "g_k", "g_attn", "g_post_attn",
                                    "g_ffn", "g_post_ffn", "W_gate", "W_up", "W_down", "COS", "SIN", "E", "g_final"]

    /// W_Q is the head's dₕ rows, W_K and W_V its key/value head's; H, Q_pre, K_pre, Q_norm and
    /// K_norm come from the trace; the g_… are the norms' whole gains (1 + w); COS and SIN are
    /// this layer's RoPE tables (base 10⁴ local, 10⁶ global), (T × dₕ).
    public func weight(named name: String, layer: Int, head: Int, trace: Trace) -> Matrix? {
        let c = configuration
        let w = weights.layers[layer], h = trace.layers[layer].heads[head]
        let dh = c.headDimension, kv = h.keyValueHead
        func row(_ values: [Float]) -> Matrix { Matrix(rows: 1, columns: values.count, values: values) }
        func rope() -> Rotation { Rotation(headDimension: dh, base: c.ropeBase(layer: layer), positions: 0..<trace.count) }
        switch name {
        case "H": return trace.layers[layer].attentionInput
        case "Q_pre": return h.queriesBeforeRotation
        case "K_pre": return h.keysBeforeRotation
        case "Q_norm": return h.queriesNormalized
        case "K_norm": return h.keysNormalized
        case "W_Q": return w.query.rows((head * dh)..<((head + 1) * dh)).transposed
        case "W_K": return w.key.rows((kv * dh)..<((kv + 1) * dh)).transposed
        case "W_V": return w.value.rows((kv * dh)..<((kv + 1) * dh)).transposed
        case "W_O": return w.output.matrix.transposed
        case "g_q": return row(w.queryNorm)
        case "g_k": return row(w.keyNorm)
        case "g_attn": return row(w.attentionNorm)
        case "g_post_attn": return row(w.postAttentionNorm)
        case "g_ffn": return row(w.feedForwardNorm)
        case "g_post_ffn": return row(w.postFeedForwardNorm)
        case "W_gate": return w.gate.matrix.transposed
        case "W_up": return w.up.matrix.transposed
        case "W_down": return w.down.matrix.transposed
        case "COS": let r = rope(); return Matrix.concatenateColumns([r.cosines, r.cosines])
        case "SIN": let r = rope(); return Matrix.concatenateColumns([r.sines, r.sines])
        case "E": return weights.tokenEmbeddings.matrix
        case "g_final": return row(weights.outputNorm)
        default: return nil
        }
    }

    public func text(of ids: [Int]) -> String { tokenizer.decode(ids) }
}
