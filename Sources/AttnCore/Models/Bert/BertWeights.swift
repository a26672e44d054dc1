/// One encoder layer's weights.
public struct BertLayerWeights: Sendable {
    public let query: Linear, key: Linear, value: Linear
    public let attentionOutput: Linear
    public let attentionNorm: LayerNormWeights
    public let intermediate: Linear
    public let output: Linear
    public let outputNorm: LayerNormWeights
}

/// All of a BERT checkpoint's weights, in model fields.
///
/// ``BertWeights/checkpointName(_:layer:)`` is the one place that maps checkpoint tensor names to
/// fields; loading reads each name once, checks its shape, and fails on any tensor it does not use.
public struct BertWeights: Sendable {
    public let wordEmbeddings: WeightMatrix  // vocabulary × d_model, read row by row from the file
    public let positionEmbeddings: Matrix   // positions × d_model
    public let typeEmbeddings: Matrix       // types × d_model
    public let embeddingNorm: LayerNormWeights
    public let layers: [BertLayerWeights]
    /// tanh(W · h[CLS] + b): in the checkpoint, not used by attn's steps; a checkpoint saved with
    /// a pre-training head may have none.
    public let pooler: Linear?
    /// What the checkpoint's names start with: "" for a BertModel (MiniLM), `bert.` for a model
    /// saved with its pre-training head (BertForPreTraining, BertForMaskedLM: `bert-base-uncased`).
    public let prefix: String

    /// The fields of the model, each a tensor of the checkpoint.
    public enum Field: Sendable, CaseIterable {
        case wordEmbeddings, positionEmbeddings, typeEmbeddings, embeddingNormWeight, embeddingNormBias
        case queryWeight, queryBias, keyWeight, keyBias, valueWeight, valueBias
        case attentionOutputWeight, attentionOutputBias, attentionNormWeight, attentionNormBias
        case intermediateWeight, intermediateBias, outputWeight, outputBias, outputNormWeight, outputNormBias
        case poolerWeight, poolerBias

        var isPerLayer: Bool {
            switch self {
            case .wordEmbeddings, .positionEmbeddings, .typeEmbeddings, .embeddingNormWeight,
                 .embeddingNormBias, .poolerWeight, .poolerBias: false
            default: true
            }
        }
    }

    /// The checkpoint's name for a field, e.g. `encoder.layer.2.attention.self.query.weight`
    /// (after `prefix`).
    public static func checkpointName(_ field: Field, layer: Int = 0, prefix: String = "") -> String {
        prefix + unprefixedName(field, layer: layer)
    }

    static func unprefixedName(_ field: Field, layer: Int) -> String {
        let l = "encoder.layer.\(layer)"
        switch field {
        case .wordEmbeddings: return "embeddings.word_embeddings.weight"
        case .positionEmbeddings: return "embeddings.position_embeddings.weight"
        case .typeEmbeddings: return "embeddings.token_type_embeddings.weight"
        case .embeddingNormWeight: return "embeddings.LayerNorm.weight"
        case .embeddingNormBias: return "embeddings.LayerNorm.bias"
        case .queryWeight: return "\(l).attention.self.query.weight"
        case .queryBias: return "\(l).attention.self.query.bias"
        case .keyWeight: return "\(l).attention.self.key.weight"
        case .keyBias: return "\(l).attention.self.key.bias"
        case .valueWeight: return "\(l).attention.self.value.weight"
        case .valueBias: return "\(l).attention.self.value.bias"
        case .attentionOutputWeight: return "\(l).attention.output.dense.weight"
        case .attentionOutputBias: return "\(l).attention.output.dense.bias"
        case .attentionNormWeight: return "\(l).attention.output.LayerNorm.weight"
        case .attentionNormBias: return "\(l).attention.output.LayerNorm.bias"
        case .intermediateWeight: return "\(l).intermediate.dense.weight"
        case .intermediateBias: return "\(l).intermediate.dense.bias"
        case .outputWeight: return "\(l).output.dense.weight"
        case .outputBias: return "\(l).output.dense.bias"
        case .outputNormWeight: return "\(l).output.LayerNorm.weight"
        case .outputNormBias: return "\(l).output.LayerNorm.bias"
        case .poolerWeight: return "pooler.dense.weight"
        case .poolerBias: return "pooler.dense.bias"
        }
    }

    /// The shape a field must have under `c`.
    public static func expectedShape(_ field: Field, _ c: BertConfiguration) -> [Int] {
        let d = c.hiddenSize, f = c.intermediateSize
        switch field {
        case .wordEmbeddings: return [c.vocabularySize, d]
        case .positionEmbeddings: return [c.maximumPositions, d]
        case .typeEmbeddings: return [c.typeVocabularySize, d]
        case .queryWeight, .keyWeight, .valueWeight, .attentionOutputWeight, .poolerWeight: return [d, d]
        case .intermediateWeight: return [f, d]
        case .outputWeight: return [d, f]
        case .intermediateBias: return [f]
        default: return [d]
        }
    }

    /// Checkpoint entries that are buffers, not weights: present in the file, ignored on purpose.
    /// (`position_ids` is just `0, 1, …, 511`.)
    public static let ignoredTensors: Set<String> = ["embeddings.position_ids"]

    /// A pre-training head's tensors (`cls.predictions.*`, `cls.seq_relationship.*`): in the file
    /// beside the encoder, outside the steps attn shows, so not read.
    static func isPreTrainingHead(_ name: String) -> Bool { name.hasPrefix("cls.") }

    /// Loads every field from `checkpoint`, checking names and shapes against `configuration`.
    /// - Throws: `.modelTooLarge` beyond ``ModelBudget/maximumWeightBytes``; `.tensorMissing`,
    ///   `.tensorShape`, `.tensorDType`, `.tensorUnexpected` or `.tensorNotFinite`, naming the tensor.
    public init(checkpoint: SafeTensorsCheckpoint, configuration c: BertConfiguration) throws {
        // What the configuration asks for, before any of it is read.
        try ModelBudget.check(Field.allCases.flatMap { field in
            Array(repeating: Self.expectedShape(field, c), count: field.isPerLayer ? c.hiddenLayers : 1)
        }, path: checkpoint.path)
        let prefix = checkpoint.entry("bert." + Self.checkpointName(.wordEmbeddings)) != nil ? "bert." : ""
        self.prefix = prefix
        var reader = CheckpointReader(checkpoint)
        func name(_ field: Field, _ layer: Int) -> String { Self.checkpointName(field, layer: layer, prefix: prefix) }
        func mapped(_ field: Field, layer: Int = 0) throws -> WeightMatrix {
            try reader.mapped(name(field, layer), shape: Self.expectedShape(field, c))
        }
        func read(_ field: Field, layer: Int = 0) throws -> Matrix {
            try reader.read(name(field, layer), shape: Self.expectedShape(field, c))
        }
        func linear(_ w: Field, _ b: Field, layer: Int = 0) throws -> Linear {
            Linear(weight: try mapped(w, layer: layer), bias: try read(b, layer: layer).values)
        }
        func norm(_ w: Field, _ b: Field, layer: Int = 0) throws -> LayerNormWeights {
            LayerNormWeights(gamma: try read(w, layer: layer).values, beta: try read(b, layer: layer).values)
        }
        // The token table is 30522 × 384 (47 MB) of which a sentence needs a few rows.
        wordEmbeddings = try mapped(.wordEmbeddings)
        positionEmbeddings = try read(.positionEmbeddings)
        typeEmbeddings = try read(.typeEmbeddings)
        embeddingNorm = try norm(.embeddingNormWeight, .embeddingNormBias)
        layers = try (0..<c.hiddenLayers).map { l in
            BertLayerWeights(
                query: try linear(.queryWeight, .queryBias, layer: l),
                key: try linear(.keyWeight, .keyBias, layer: l),
                value: try linear(.valueWeight, .valueBias, layer: l),
                attentionOutput: try linear(.attentionOutputWeight, .attentionOutputBias, layer: l),
                attentionNorm: try norm(.attentionNormWeight, .attentionNormBias, layer: l),
                intermediate: try linear(.intermediateWeight, .intermediateBias, layer: l),
                output: try linear(.outputWeight, .outputBias, layer: l),
                outputNorm: try norm(.outputNormWeight, .outputNormBias, layer: l))
        }
        // A BertForMaskedLM file has no pooler: BertModel makes one it never trained.
        let hasPooler = checkpoint.entry(name(.poolerWeight, 0)) != nil || prefix.isEmpty
        pooler = hasPooler ? try linear(.poolerWeight, .poolerBias) : nil
        let ignored = Set(Self.ignoredTensors.map { prefix + $0 })
        try reader.requireEveryTensorUsed { ignored.contains($0) || (prefix == "bert." && Self.isPreTrainingHead($0)) }
    }

    /// One file's weights (see ``init(checkpoint:configuration:)``).
    public init(file: SafeTensors, configuration: BertConfiguration) throws {
        try self.init(checkpoint: SafeTensorsCheckpoint(file: file), configuration: configuration)
    }
}
