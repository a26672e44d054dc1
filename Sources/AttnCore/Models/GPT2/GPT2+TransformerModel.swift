import Foundation

/// GPT-2 as the notebook sees it: its steps, where each comes from in the safetensors file, and
/// its weights under the names of the learner's math.
extension GPT2: DecoderModel {
    public static let architecture = "GPT-2 decoder"

    /// Opens a checkpoint directory (config.json, safetensors, tokenizer files).
    public init(opening location: String) throws {
        try Self.requireDirectory(location, holding: "config.json, safetensors weights and a tokenizer")
        try self.init(directory: location)
    }

    public var location: String { directory }

    public var sizes: ModelSizes { Self.sizes(configuration) }

    public static func sizes(at location: String) throws -> ModelSizes {
        sizes(try GPT2Configuration.load(path: location + "/config.json"))
    }

    static func sizes(_ c: GPT2Configuration) -> ModelSizes {
        ModelSizes(layers: c.hiddenLayers, heads: c.attentionHeads, keyValueHeads: c.attentionHeads,
                   headDimension: c.headDimension, modelDimension: c.hiddenSize,
                   feedForwardDimension: c.intermediateSize, vocabulary: c.vocabularySize,
                   context: c.maximumPositions)
    }

    public var normalizationEpsilon: Float { configuration.layerNormEpsilon }
    /// GPT-2's positions are learned vectors, added once to the input.
    public var ropeBase: Float? { nil }
    /// GPT-2's files carry no chat template.
    public var chatTemplate: String? { nil }

    public static let steps: [Step] = [
        .tokenEmbeddings, .positionEmbeddings, .embeddings, .x, .layerNorm1, .q, .k, .v, .scores, .scaled,
        .masked, .weights, .z, .concat, .attentionOutput, .attentionResidual, .layerNorm2, .feedForwardHidden,
        .feedForwardActivation, .feedForwardOutput, .out, .finalNorm, .logits,
    ]

    public var stepFormulas: [Step: String] { [
        .embeddings: "embeddings = token_embeddings + position_embeddings",
        .q: "q = ln_1 · W_Q + b_Q",
        .k: "k = ln_1 · W_K + b_K",
        .v: "v = ln_1 · W_V + b_V",
        .masked: "masked = scaled + causal mask (−∞ above the diagonal)",
        .feedForwardHidden: "ffn_hidden = ln_2 · W_fc + b_fc",
        .feedForwardActivation: "ffn_act = \(configuration.activation.formula)(ffn_hidden)",
        .feedForwardOutput: "ffn_out = ffn_act · W_proj + b_proj",
        .out: "out = attn_residual + ffn_out",
        .finalNorm: "final_norm = LN(out of the last layer)",
    ] }

    /// The safetensors tensors of a step. Conv1D weights are stored (in × out), so a head's
    /// projection is a block of columns of `c_attn`, used as it is: Q, K and V are its first,
    /// second and third d columns.
    public func provenance(of step: Step, layer: Int, head: Int) -> [String] {
        let c = configuration
        let d = c.hiddenSize, dh = c.headDimension, f = c.intermediateSize
        func name(_ field: GPT2Weights.Field) -> String { GPT2Weights.checkpointName(field, layer: layer, prefix: weights.prefix) }
        func projection(_ symbol: String, third: Int) -> [String] {
            let start = third * d + head * dh
            return ["layer \(layer), head \(head): \(dh) columns of the \(d) × \(3 * d) c_attn (Q | K | V)",
                    "  \(symbol) = \(name(.queryKeyValueWeight))[:, \(start):\(start + dh)]",
                    "  b\(symbol.dropFirst()) = \(name(.queryKeyValueBias))[\(start):\(start + dh)]"]
        }
        func norm(_ weight: GPT2Weights.Field, _ bias: GPT2Weights.Field, _ location: String) -> [String] {
            ["\(location)γ = \(name(weight)), β = \(name(bias)), ε = \(c.layerNormEpsilon)"]
        }
        switch step {
        case .tokenEmbeddings: return ["E = \(name(.tokenEmbeddings))  [\(c.vocabularySize) × \(d)]"]
        case .positionEmbeddings: return ["E_position = \(name(.positionEmbeddings))  [\(c.maximumPositions) × \(d)]"]
        case .embeddings: return ["\(name(.tokenEmbeddings))[ids] + \(name(.positionEmbeddings))[0…T−1]"]
        case .layerNorm1: return norm(.attentionNormWeight, .attentionNormBias, "layer \(layer): ")
        case .q: return projection("W_Q", third: 0)
        case .k: return projection("W_K", third: 1)
        case .v: return projection("W_V", third: 2)
        case .masked: return ["layer \(layer), head \(head): −∞ above the diagonal, a token sees only itself and the past"]
        case .attentionOutput:
            return ["layer \(layer): W_O = \(name(.attentionOutputWeight))  [\(d) × \(d)]", "  b_O = \(name(.attentionOutputBias))"]
        case .layerNorm2: return norm(.feedForwardNormWeight, .feedForwardNormBias, "layer \(layer): ")
        case .feedForwardHidden:
            return ["layer \(layer): W_fc = \(name(.feedForwardInWeight))  [\(d) × \(f)]", "  b_fc = \(name(.feedForwardInBias))"]
        case .feedForwardOutput:
            return ["layer \(layer): W_proj = \(name(.feedForwardOutWeight))  [\(f) × \(d)]", "  b_proj = \(name(.feedForwardOutBias))"]
        case .finalNorm: return norm(.finalNormWeight, .finalNormBias, "")
        case .logits: return ["Eᵀ = \(name(.tokenEmbeddings))ᵀ (the output is tied to the input embeddings)"]
        default:
            switch step.scope {
            case .sentence: return []
            case .layer: return ["layer \(layer)"]
            case .head: return ["layer \(layer), head \(head)"]
            }
        }
    }

    public static let boundNames = ["X", "Q", "K", "V", "W_Q", "W_K", "W_V", "b_Q", "b_K", "b_V", "W_O", "b_O",
                                    "scores", "scaled", "masked", "M", "weights", "Z", "dk", "T", "ids",
                                    "H", "gamma_1", "beta_1", "gamma_2", "beta_2", "W_fc", "b_fc", "W_proj", "b_proj",
                                    "E", "P", "gamma_f", "beta_f"]

    /// W_Q, W_K, W_V are the head's dₕ columns of `c_attn` (in × out already, no transpose); H
    /// is the ln_1 output the projections read; E and P the token and position tables.
    public func weight(named name: String, layer: Int, head: Int, trace: Trace) -> Matrix? {
        let c = configuration
        let w = weights.layers[layer]
        let d = c.hiddenSize, dh = c.headDimension
        func row(_ values: [Float]) -> Matrix { Matrix(rows: 1, columns: values.count, values: values) }
        func columns(third: Int) -> Range<Int> { (third * d + head * dh)..<(third * d + (head + 1) * dh) }
        let qkv = ["W_Q": 0, "W_K": 1, "W_V": 2, "b_Q": 0, "b_K": 1, "b_V": 2]
        switch name {
        case "H": return trace.layers[layer].attentionInput
        case "W_Q", "W_K", "W_V": return w.queryKeyValue.weight.matrix().columns(columns(third: qkv[name] ?? 0))
        case "b_Q", "b_K", "b_V": return row(Array(w.queryKeyValue.bias[columns(third: qkv[name] ?? 0)]))
        case "W_O": return w.attentionOutput.weight.matrix()
        case "b_O": return row(w.attentionOutput.bias)
        case "gamma_1": return row(w.attentionNorm.gamma)
        case "beta_1": return row(w.attentionNorm.beta)
        case "gamma_2": return row(w.feedForwardNorm.gamma)
        case "beta_2": return row(w.feedForwardNorm.beta)
        case "W_fc": return w.feedForwardIn.weight.matrix()
        case "b_fc": return row(w.feedForwardIn.bias)
        case "W_proj": return w.feedForwardOut.weight.matrix()
        case "b_proj": return row(w.feedForwardOut.bias)
        case "E": return weights.tokenEmbeddings.matrix()
        case "P": return weights.positionEmbeddings
        case "gamma_f": return row(weights.finalNorm.gamma)
        case "beta_f": return row(weights.finalNorm.beta)
        default: return nil
        }
    }

    public func text(of ids: [Int]) -> String { tokenizer.decode(ids) }
}
