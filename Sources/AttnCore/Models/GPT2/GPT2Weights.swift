/// One GPT-2 block's weights.
public struct GPT2LayerWeights: Sendable {
    /// `ln_1`, before attention.
    public let attentionNorm: LayerNormWeights
    /// `attn.c_attn`: Q, K and V side by side, (d × 3d).
    public let queryKeyValue: Conv1D
    /// `attn.c_proj`, (d × d).
    public let attentionOutput: Conv1D
    /// `ln_2`, before the feed-forward.
    public let feedForwardNorm: LayerNormWeights
    /// `mlp.c_fc`, (d × d_ff), and `mlp.c_proj`, (d_ff × d).
    public let feedForwardIn: Conv1D
    public let feedForwardOut: Conv1D
}

/// All of a GPT-2 checkpoint's weights, in model fields.
///
/// ``GPT2Weights/checkpointName(_:layer:prefix:)`` is the one place that maps checkpoint tensor
/// names to fields; loading reads each name once, checks its shape, and fails on any tensor it
/// does not use.
public struct GPT2Weights: Sendable {
    /// `wte`: vocabulary × d_model, read row by row from the file; also the output projection (tied).
    public let tokenEmbeddings: WeightMatrix
    /// `wpe`: positions × d_model.
    public let positionEmbeddings: Matrix
    public let layers: [GPT2LayerWeights]
    /// `ln_f`, after the last block.
    public let finalNorm: LayerNormWeights
    /// What the checkpoint's names start with: "" for the original `gpt2` files (saved from a
    /// GPT2Model), `transformer.` for a GPT2LMHeadModel saved by transformers.
    public let prefix: String

    /// The fields of the model, each a tensor of the checkpoint.
    public enum Field: Sendable, CaseIterable {
        case tokenEmbeddings, positionEmbeddings
        case attentionNormWeight, attentionNormBias, queryKeyValueWeight, queryKeyValueBias
        case attentionOutputWeight, attentionOutputBias, feedForwardNormWeight, feedForwardNormBias
        case feedForwardInWeight, feedForwardInBias, feedForwardOutWeight, feedForwardOutBias
        case finalNormWeight, finalNormBias

        var isPerLayer: Bool {
            ![.tokenEmbeddings, .positionEmbeddings, .finalNormWeight, .finalNormBias].contains(self)
        }
    }

    /// The checkpoint's name for a field, e.g. `h.3.attn.c_attn.weight` (after `prefix`).
    public static func checkpointName(_ field: Field, layer: Int = 0, prefix: String = "") -> String {
        let h = "h.\(layer)"
        let name = switch field {
        case .tokenEmbeddings: "wte.weight"
        case .positionEmbeddings: "wpe.weight"
        case .attentionNormWeight: "\(h).ln_1.weight"
        case .attentionNormBias: "\(h).ln_1.bias"
        case .queryKeyValueWeight: "\(h).attn.c_attn.weight"
        case .queryKeyValueBias: "\(h).attn.c_attn.bias"
        case .attentionOutputWeight: "\(h).attn.c_proj.weight"
        case .attentionOutputBias: "\(h).attn.c_proj.bias"
        case .feedForwardNormWeight: "\(h).ln_2.weight"
        case .feedForwardNormBias: "\(h).ln_2.bias"
        case .feedForwardInWeight: "\(h).mlp.c_fc.weight"
        case .feedForwardInBias: "\(h).mlp.c_fc.bias"
        case .feedForwardOutWeight: "\(h).mlp.c_proj.weight"
        case .feedForwardOutBias: "\(h).mlp.c_proj.bias"
        case .finalNormWeight: "ln_f.weight"
        case .finalNormBias: "ln_f.bias"
        }
        return prefix + name
    }

    /// The shape a field must have under `c`: Conv1D weights are (in × out).
    public static func expectedShape(_ field: Field, _ c: GPT2Configuration) -> [Int] {
        let d = c.hiddenSize, f = c.intermediateSize
        switch field {
        case .tokenEmbeddings: return [c.vocabularySize, d]
        case .positionEmbeddings: return [c.maximumPositions, d]
        case .queryKeyValueWeight: return [d, 3 * d]
        case .queryKeyValueBias: return [3 * d]
        case .attentionOutputWeight: return [d, d]
        case .feedForwardInWeight: return [d, f]
        case .feedForwardInBias: return [f]
        case .feedForwardOutWeight: return [f, d]
        default: return [d]
        }
    }

    /// Checkpoint entries that are not weights, ignored on purpose: the causal mask buffers
    /// (`h.N.attn.bias`, `h.N.attn.masked_bias`) older files carry, and an `lm_head.weight`, which
    /// the tied model replaces by `wte` as transformers does.
    static func isIgnored(_ name: String, prefix: String) -> Bool {
        if name == "lm_head.weight" { return true }
        guard name.hasPrefix(prefix + "h.") else { return false }
        return name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias")
    }

    /// Loads every field from `checkpoint`, checking names and shapes against `configuration`.
    /// - Throws: `.modelTooLarge` beyond ``ModelBudget/maximumWeightBytes``; `.tensorMissing`,
    ///   `.tensorShape`, `.tensorDType`, `.tensorUnexpected` or `.tensorNotFinite`, naming the tensor.
    public init(checkpoint: SafeTensorsCheckpoint, configuration c: GPT2Configuration) throws {
        try ModelBudget.check(Field.allCases.flatMap { field in
            Array(repeating: Self.expectedShape(field, c), count: field.isPerLayer ? c.hiddenLayers : 1)
        }, path: checkpoint.path)
        let prefix = checkpoint.entry("transformer." + Self.checkpointName(.tokenEmbeddings)) != nil ? "transformer." : ""
        self.prefix = prefix
        var reader = CheckpointReader(checkpoint)
        func name(_ field: Field, _ layer: Int) -> String { Self.checkpointName(field, layer: layer, prefix: prefix) }
        func vector(_ field: Field, _ layer: Int) throws -> [Float] {
            try reader.read(name(field, layer), shape: Self.expectedShape(field, c)).values
        }
        func conv(_ w: Field, _ b: Field, layer: Int) throws -> Conv1D {
            Conv1D(weight: try reader.mapped(name(w, layer), shape: Self.expectedShape(w, c)), bias: try vector(b, layer))
        }
        func norm(_ w: Field, _ b: Field, layer: Int = 0) throws -> LayerNormWeights {
            LayerNormWeights(gamma: try vector(w, layer), beta: try vector(b, layer))
        }
        tokenEmbeddings = try reader.mapped(name(.tokenEmbeddings, 0), shape: Self.expectedShape(.tokenEmbeddings, c))
        positionEmbeddings = try reader.read(name(.positionEmbeddings, 0), shape: Self.expectedShape(.positionEmbeddings, c))
        layers = try (0..<c.hiddenLayers).map { l in
            GPT2LayerWeights(
                attentionNorm: try norm(.attentionNormWeight, .attentionNormBias, layer: l),
                queryKeyValue: try conv(.queryKeyValueWeight, .queryKeyValueBias, layer: l),
                attentionOutput: try conv(.attentionOutputWeight, .attentionOutputBias, layer: l),
                feedForwardNorm: try norm(.feedForwardNormWeight, .feedForwardNormBias, layer: l),
                feedForwardIn: try conv(.feedForwardInWeight, .feedForwardInBias, layer: l),
                feedForwardOut: try conv(.feedForwardOutWeight, .feedForwardOutBias, layer: l))
        }
        finalNorm = try norm(.finalNormWeight, .finalNormBias)
        try reader.requireEveryTensorUsed { Self.isIgnored($0, prefix: prefix) }
    }
}
