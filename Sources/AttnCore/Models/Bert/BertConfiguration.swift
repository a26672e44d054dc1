import Foundation

/// The hyper-parameters of a BERT encoder, read from the checkpoint's `config.json`.
///
/// `CodingKeys` spell the JSON keys; the properties have Swift names.
public struct BertConfiguration: Codable, Sendable, Equatable {
    public var modelType: String
    public var hiddenSize: Int
    public var hiddenLayers: Int
    public var attentionHeads: Int
    public var intermediateSize: Int
    public var hiddenActivation: String
    public var layerNormEpsilon: Float
    public var vocabularySize: Int
    public var maximumPositions: Int
    public var typeVocabularySize: Int
    public var positionEmbeddingType: String?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case hiddenSize = "hidden_size"
        case hiddenLayers = "num_hidden_layers"
        case attentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenActivation = "hidden_act"
        case layerNormEpsilon = "layer_norm_eps"
        case vocabularySize = "vocab_size"
        case maximumPositions = "max_position_embeddings"
        case typeVocabularySize = "type_vocab_size"
        case positionEmbeddingType = "position_embedding_type"
    }

    /// The feed-forward's non-linearity (`validate` has checked that attn knows it).
    public var activation: Activation { Activation(configurationName: hiddenActivation) ?? .gelu }

    /// The width of one head: `d_model / heads` (32 for MiniLM).
    public var headDimension: Int { hiddenSize / attentionHeads }

    /// Reads and checks `config.json`: the numbers must describe a BERT this code computes exactly.
    /// - Throws: `.fileUnreadable` or `.configInvalid` naming the problem.
    public static func load(path: String) throws -> BertConfiguration {
        let configuration = try ConfigurationFile.decode(BertConfiguration.self, path: path,
                                                         wholeNumberRanges: wholeNumberRanges, epsilonKey: "layer_norm_eps")
        try configuration.validate(path: path)
        return configuration
    }

    /// The values attn accepts for each whole-number key: wide enough for any BERT of the
    /// Hugging Face hub (BERT-large has 1024, 24, 16, 4096), narrow enough that no product of two
    /// of them overflows and a wrong file is caught here rather than by a failed allocation.
    public static let wholeNumberRanges: [(key: String, range: ClosedRange<Int>)] = [
        ("hidden_size", 1...16_384), ("num_hidden_layers", 1...256), ("num_attention_heads", 1...256),
        ("intermediate_size", 1...131_072), ("vocab_size", 1...1_048_576),
        ("max_position_embeddings", 1...1_048_576), ("type_vocab_size", 1...1024),
    ]

    /// The whole-number values, by their keys in config.json.
    var wholeNumbers: [String: Int] {
        ["hidden_size": hiddenSize, "num_hidden_layers": hiddenLayers, "num_attention_heads": attentionHeads,
         "intermediate_size": intermediateSize, "vocab_size": vocabularySize,
         "max_position_embeddings": maximumPositions, "type_vocab_size": typeVocabularySize]
    }

    func validate(path: String) throws {
        func fail(_ reason: String) -> AttnError { .configInvalid(path: path, reason: reason) }
        guard modelType == "bert" else { throw fail("model_type is \(modelType), expected bert") }
        guard Activation(configurationName: hiddenActivation) != nil else {
            let known = Activation.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("hidden_act is \(hiddenActivation); attn computes \(known)")
        }
        guard (positionEmbeddingType ?? "absolute") == "absolute" else { throw fail("position_embedding_type must be absolute") }
        try ConfigurationFile.checkRanges(wholeNumbers, Self.wholeNumberRanges, path: path)
        guard hiddenSize % attentionHeads == 0 else {
            throw fail("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(attentionHeads)")
        }
        try ConfigurationFile.checkEpsilon(layerNormEpsilon, key: "layer_norm_eps", path: path)
    }
}
