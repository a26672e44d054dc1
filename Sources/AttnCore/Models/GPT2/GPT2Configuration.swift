import Foundation

/// The hyper-parameters of a GPT-2 decoder, read from the checkpoint's `config.json`.
///
/// `CodingKeys` spell the JSON keys (GPT-2's own short names); the properties have Swift names.
/// GPT-2 small: 12 layers of 12 heads of 64, d_model 768, 1024 positions, 50257 tokens.
public struct GPT2Configuration: Codable, Sendable, Equatable {
    public var modelType: String
    public var vocabularySize: Int
    public var maximumPositions: Int
    public var hiddenSize: Int
    public var hiddenLayers: Int
    public var attentionHeads: Int
    /// The feed-forward's width; `null` in config.json means 4 · d_model.
    public var innerSize: Int?
    public var activationFunction: String
    public var layerNormEpsilon: Float
    /// Whether scores are divided by √dₕ (true in every GPT-2 checkpoint).
    public var scaleAttentionWeights: Bool?
    /// A variant that also divides by the layer number; attn does not compute it.
    public var scaleByInverseLayer: Bool?
    public var tieWordEmbeddings: Bool?
    public var eosTokenId: Int?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabularySize = "vocab_size"
        case maximumPositions = "n_positions"
        case hiddenSize = "n_embd"
        case hiddenLayers = "n_layer"
        case attentionHeads = "n_head"
        case innerSize = "n_inner"
        case activationFunction = "activation_function"
        case layerNormEpsilon = "layer_norm_epsilon"
        case scaleAttentionWeights = "scale_attn_weights"
        case scaleByInverseLayer = "scale_attn_by_inverse_layer_idx"
        case tieWordEmbeddings = "tie_word_embeddings"
        case eosTokenId = "eos_token_id"
    }

    /// dₕ = d_model / heads (64 for GPT-2 small).
    public var headDimension: Int { hiddenSize / attentionHeads }
    /// d_ff: `n_inner`, or 4 · d_model.
    public var intermediateSize: Int { innerSize ?? 4 * hiddenSize }
    /// The feed-forward's non-linearity (`validate` has checked that attn knows it).
    public var activation: Activation { Activation(configurationName: activationFunction) ?? .geluTanh }

    /// Reads and checks `config.json`: the numbers must describe a GPT-2 this code computes exactly.
    /// - Throws: `.fileUnreadable` or `.configInvalid` naming the problem.
    public static func load(path: String) throws -> GPT2Configuration {
        let configuration = try ConfigurationFile.decode(GPT2Configuration.self, path: path,
                                                         wholeNumberRanges: wholeNumberRanges, epsilonKey: "layer_norm_epsilon")
        try configuration.validate(path: path)
        return configuration
    }

    /// The values attn accepts for each whole-number key: wide enough for GPT-2 XL (1600, 48, 25),
    /// narrow enough that no product of two overflows.
    public static let wholeNumberRanges: [(key: String, range: ClosedRange<Int>)] = [
        ("n_embd", 1...16_384), ("n_layer", 1...256), ("n_head", 1...256), ("n_inner", 1...131_072),
        ("vocab_size", 1...1_048_576), ("n_positions", 1...1_048_576),
    ]

    func validate(path: String) throws {
        func fail(_ reason: String) -> AttnError { .configInvalid(path: path, reason: reason) }
        guard modelType == "gpt2" else { throw fail("model_type is \(modelType), expected gpt2") }
        guard Activation(configurationName: activationFunction) != nil else {
            let known = Activation.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("activation_function is \(activationFunction); attn computes \(known)")
        }
        guard scaleAttentionWeights ?? true else { throw fail("scale_attn_weights is false; attn divides scores by √dₕ") }
        guard !(scaleByInverseLayer ?? false) else { throw fail("scale_attn_by_inverse_layer_idx is true; attn does not compute that variant") }
        guard tieWordEmbeddings ?? true else { throw fail("tie_word_embeddings is false; attn computes GPT-2 with the output tied to wte") }
        let values: [String: Int] = ["n_embd": hiddenSize, "n_layer": hiddenLayers, "n_head": attentionHeads,
                                     "n_inner": intermediateSize, "vocab_size": vocabularySize, "n_positions": maximumPositions]
        try ConfigurationFile.checkRanges(values, Self.wholeNumberRanges, path: path)
        guard hiddenSize % attentionHeads == 0 else {
            throw fail("n_embd \(hiddenSize) is not a multiple of n_head \(attentionHeads)")
        }
        try ConfigurationFile.checkEpsilon(layerNormEpsilon, key: "layer_norm_epsilon", path: path)
    }
}
