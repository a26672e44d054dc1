/// A linear layer as PyTorch stores it: `y = x · Wᵀ + b`, with `weight` of shape (out × in).
public struct Linear: Sendable {
    public let weight: Matrix
    public let bias: [Float]
    /// `y = x · Wᵀ + b`        (T × in) → (T × out)
    public func callAsFunction(_ x: Matrix) -> Matrix { x.linear(weight: weight, bias: bias) }
}

/// The learned scale and shift of a LayerNorm.
public struct LayerNormWeights: Sendable {
    public let gamma: [Float]
    public let beta: [Float]
}

/// An embedding table left in the checkpoint's memory-mapped file.
public struct EmbeddingTable: Sendable {
    let file: SafeTensors
    /// The tensor's name in the checkpoint.
    public let name: String
    public let rows: Int
    public let columns: Int

    /// The rows for `ids`: the embedding look-up `E[ids]`.      (T × d)
    /// - Precondition: every id is below `rows` (the tokenizer's ids are).
    public func lookUp(_ ids: [Int]) -> Matrix {
        // Validated when the file was opened: a 2-D float tensor of this shape.
        (try? file.rows(name, ids)) ?? Matrix(rows: ids.count, columns: columns)
    }

    /// The whole table as a matrix (47 MB for MiniLM; only for tests and the learner's math).
    public func matrix() throws -> Matrix { try file.matrix(name) }
}

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
    public let wordEmbeddings: EmbeddingTable  // vocabulary × d_model, read row by row from the file
    public let positionEmbeddings: Matrix   // positions × d_model
    public let typeEmbeddings: Matrix       // types × d_model
    public let embeddingNorm: LayerNormWeights
    public let layers: [BertLayerWeights]
    public let pooler: Linear               // tanh(W · h[CLS] + b): in the checkpoint, not used by attn's steps

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

    /// The checkpoint's name for a field, e.g. `encoder.layer.2.attention.self.query.weight`.
    public static func checkpointName(_ field: Field, layer: Int = 0) -> String {
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

    /// Loads every field from `file`, checking names and shapes against `configuration`.
    /// - Throws: `.tensorMissing`, `.tensorShape`, `.tensorDType` or `.tensorUnexpected`, naming the tensor.
    public init(file: SafeTensors, configuration c: BertConfiguration) throws {
        var used = Set<String>()
        func read(_ field: Field, layer: Int = 0) throws -> Matrix {
            let name = Self.checkpointName(field, layer: layer)
            guard let entry = file.entries[name] else { throw AttnError.tensorMissing(name: name, path: file.path) }
            let expected = Self.expectedShape(field, c)
            guard entry.shape == expected else { throw AttnError.tensorShape(name: name, expected: expected, found: entry.shape) }
            guard entry.dtype != .i64 else { throw AttnError.tensorDType(name: name, expected: "F32", found: "I64") }
            used.insert(name)
            return try file.matrix(name)
        }
        func vector(_ field: Field, layer: Int = 0) throws -> [Float] { try read(field, layer: layer).values }
        func linear(_ w: Field, _ b: Field, layer: Int = 0) throws -> Linear {
            Linear(weight: try read(w, layer: layer), bias: try vector(b, layer: layer))
        }
        func norm(_ w: Field, _ b: Field, layer: Int = 0) throws -> LayerNormWeights {
            LayerNormWeights(gamma: try vector(w, layer: layer), beta: try vector(b, layer: layer))
        }

        // The token table is 30522 × 384 (47 MB) of which a sentence needs a few rows: it stays in
        // the memory-mapped file and rows are read on demand.
        let tableName = Self.checkpointName(.wordEmbeddings)
        guard let table = file.entries[tableName] else { throw AttnError.tensorMissing(name: tableName, path: file.path) }
        guard table.shape == Self.expectedShape(.wordEmbeddings, c) else {
            throw AttnError.tensorShape(name: tableName, expected: Self.expectedShape(.wordEmbeddings, c), found: table.shape)
        }
        guard table.dtype != .i64 else { throw AttnError.tensorDType(name: tableName, expected: "F32", found: "I64") }
        used.insert(tableName)
        wordEmbeddings = EmbeddingTable(file: file, name: tableName, rows: table.shape[0], columns: table.shape[1])
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
        pooler = try linear(.poolerWeight, .poolerBias)

        // nanoGPT's `assert len(sd_keys_hf) == len(sd_keys)`: nothing in the file goes unused.
        if let stray = file.names.first(where: { !used.contains($0) && !Self.ignoredTensors.contains($0) }) {
            throw AttnError.tensorUnexpected(name: stray, path: file.path)
        }
    }
}
