import Foundation

/// BERT as the notebook sees it: its steps, where each comes from in `model.safetensors`, and
/// its weights under the names of the learner's math.
extension Bert: TransformerModel {
    public static let architecture = "BERT encoder"

    /// Opens a directory holding ``requiredFiles``.
    public init(opening location: String) throws {
        try Self.requireDirectory(location, holding: Self.requiredFiles.joined(separator: ", "))
        try self.init(directory: location)
    }

    public var location: String { directory }

    public var sizes: ModelSizes { Self.sizes(configuration) }

    public static func sizes(at location: String) throws -> ModelSizes {
        sizes(try BertConfiguration.load(path: location + "/config.json"))
    }

    static func sizes(_ c: BertConfiguration) -> ModelSizes {
        ModelSizes(layers: c.hiddenLayers, heads: c.attentionHeads, keyValueHeads: c.attentionHeads,
                   headDimension: c.headDimension, modelDimension: c.hiddenSize,
                   feedForwardDimension: c.intermediateSize, vocabulary: c.vocabularySize,
                   context: c.maximumPositions)
    }

    public var normalizationEpsilon: Float { configuration.layerNormEpsilon }

    public static let steps: [Step] = [
        .tokenEmbeddings, .positionEmbeddings, .typeEmbeddings, .embeddings, .x, .q, .k, .v, .scores, .scaled,
        .masked, .weights, .z, .concat, .attentionOutput, .attentionNorm, .feedForwardHidden,
        .feedForwardActivation, .feedForwardOutput, .out,
    ]

    /// BERT's formulas are the notebook's own, except the activation a configuration may change.
    public var stepFormulas: [Step: String] {
        let activation = configuration.activation
        return activation == .gelu ? [:] : [.feedForwardActivation: "ffn_act = \(activation.formula)(ffn_hidden)"]
    }

    /// The safetensors tensors of a step: a head's rows of a weight, a layer's linear maps and
    /// LayerNorms, the embedding tables (all float32).
    public func provenance(of step: Step, layer: Int, head: Int) -> [String] {
        let c = configuration
        let d = c.hiddenSize, dh = c.headDimension
        let headRows = "\(head * dh)…\((head + 1) * dh - 1)"
        func name(_ f: BertWeights.Field) -> String { BertWeights.checkpointName(f, layer: layer, prefix: weights.prefix) }
        let location = switch step.scope {
        case .sentence: ""
        case .layer: "layer \(layer)"
        case .head: "layer \(layer), head \(head)"
        }
        func projection(_ symbol: String, _ weight: BertWeights.Field, _ bias: BertWeights.Field) -> [String] {
            ["\(location): the head's \(dh) rows of the \(d) × \(d) weight, transposed",
             "  \(symbol) = \(name(weight))[\(headRows)]ᵀ",
             "  b\(symbol.dropFirst()) = \(name(bias))[\(headRows)]"]
        }
        func linear(_ symbol: String, _ weight: BertWeights.Field, _ bias: BertWeights.Field, _ shape: String) -> [String] {
            ["\(location): \(symbol) = \(name(weight))ᵀ  \(shape)",
             "  b\(symbol.dropFirst()) = \(name(bias))"]
        }
        func norm(_ weight: BertWeights.Field, _ bias: BertWeights.Field) -> [String] {
            ["\(location.isEmpty ? "" : location + ": ")γ = \(name(weight))",
             "  β = \(name(bias))"]
        }
        switch step {
        case .tokenEmbeddings: return ["E_token = \(name(.wordEmbeddings))  [\(c.vocabularySize) × \(d)]"]
        case .positionEmbeddings: return ["E_position = \(name(.positionEmbeddings))  [\(c.maximumPositions) × \(d)]"]
        case .typeEmbeddings: return ["E_type = \(name(.typeEmbeddings))  [\(c.typeVocabularySize) × \(d)]"]
        case .embeddings: return norm(.embeddingNormWeight, .embeddingNormBias)
        case .q: return projection("W_Q", .queryWeight, .queryBias)
        case .k: return projection("W_K", .keyWeight, .keyBias)
        case .v: return projection("W_V", .valueWeight, .valueBias)
        case .attentionOutput: return linear("W_O", .attentionOutputWeight, .attentionOutputBias, "[\(d) × \(d)]")
        case .attentionNorm: return norm(.attentionNormWeight, .attentionNormBias)
        case .feedForwardHidden: return linear("W₁", .intermediateWeight, .intermediateBias, "[\(d) × \(c.intermediateSize)]")
        case .feedForwardOutput: return linear("W₂", .outputWeight, .outputBias, "[\(c.intermediateSize) × \(d)]")
        case .out: return norm(.outputNormWeight, .outputNormBias)
        case .masked: return ["\(location): no cell is masked (one sentence, no padding)"]
        default: return location.isEmpty ? [] : [location]
        }
    }

    public static let boundNames = ["X", "Q", "K", "V", "W_Q", "W_K", "W_V", "b_Q", "b_K", "b_V", "W_O", "b_O",
                                    "scores", "scaled", "masked", "M", "weights", "Z", "dk", "T", "ids",
                                    "W_1", "b_1", "W_2", "b_2", "gamma_attn", "beta_attn", "gamma_out", "beta_out",
                                    "gamma_emb", "beta_emb"]

    /// W_Q, W_K, W_V are the head's dₕ rows of the checkpoint's weight, transposed; biases and
    /// LayerNorm parameters are 1-row matrices.
    public func weight(named name: String, layer: Int, head: Int, trace: Trace) -> Matrix? {
        let w = weights.layers[layer]
        let dh = configuration.headDimension
        let rows = (head * dh)..<((head + 1) * dh)
        func row(_ values: [Float]) -> Matrix { Matrix(rows: 1, columns: values.count, values: values) }
        switch name {
        case "W_Q": return w.query.weight.rows(rows).transposed
        case "W_K": return w.key.weight.rows(rows).transposed
        case "W_V": return w.value.weight.rows(rows).transposed
        case "b_Q": return row(Array(w.query.bias[rows]))
        case "b_K": return row(Array(w.key.bias[rows]))
        case "b_V": return row(Array(w.value.bias[rows]))
        case "W_O": return w.attentionOutput.weight.matrix().transposed
        case "b_O": return row(w.attentionOutput.bias)
        case "W_1": return w.intermediate.weight.matrix().transposed
        case "b_1": return row(w.intermediate.bias)
        case "W_2": return w.output.weight.matrix().transposed
        case "b_2": return row(w.output.bias)
        case "gamma_attn": return row(w.attentionNorm.gamma)
        case "beta_attn": return row(w.attentionNorm.beta)
        case "gamma_out": return row(w.outputNorm.gamma)
        case "beta_out": return row(w.outputNorm.beta)
        case "gamma_emb": return row(weights.embeddingNorm.gamma)
        case "beta_emb": return row(weights.embeddingNorm.beta)
        default: return nil
        }
    }

    public func tokenLabel(_ id: Int) -> String { tokenizer.tokens([id]).first ?? String(id) }

    /// Word pieces joined: `##` pieces continue the word before them.
    public func text(of ids: [Int]) -> String {
        tokenizer.tokens(ids).reduce(into: "") { text, piece in
            if piece.hasPrefix("##") { text += piece.dropFirst(2) } else { text += (text.isEmpty ? "" : " ") + piece }
        }
    }
}
