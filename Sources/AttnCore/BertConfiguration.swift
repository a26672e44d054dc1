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

    /// The width of one head: `d_model / heads` (32 for MiniLM).
    public var headDimension: Int { hiddenSize / attentionHeads }

    /// Reads and checks `config.json`: the numbers must describe a BERT this code computes exactly.
    /// - Throws: `.fileUnreadable` or `.configInvalid` naming the problem.
    public static func load(path: String) throws -> BertConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AttnError.fileUnreadable(path: path, reason: "no such file")
        }
        let configuration: BertConfiguration
        do {
            configuration = try JSONDecoder().decode(BertConfiguration.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw AttnError.configInvalid(path: path, reason: "it has no \(key.stringValue)")
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            throw AttnError.configInvalid(path: path, reason: "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch let DecodingError.valueNotFound(_, context) where !context.codingPath.isEmpty {
            throw AttnError.configInvalid(path: path, reason: "\(context.codingPath.map(\.stringValue).joined(separator: ".")) is null")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw AttnError.configInvalid(path: path, reason: "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has an unusable value")
        } catch DecodingError.typeMismatch {
            throw AttnError.configInvalid(path: path, reason: "its top level is not a JSON object")
        } catch {
            // Foundation on Linux reports a fraction where a whole number belongs as invalid JSON;
            // find the key so that the message can name it.
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw AttnError.configInvalid(path: path, reason: "it is not valid JSON")
            }
            let wholeNumbers = ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                                "vocab_size", "max_position_embeddings", "type_vocab_size"]
            for key in wholeNumbers {
                if let number = object[key] as? NSNumber, number.doubleValue != number.doubleValue.rounded() {
                    throw AttnError.configInvalid(path: path, reason: "\(key) is \(number), not a whole number")
                }
            }
            throw AttnError.configInvalid(path: path, reason: "a value has the wrong type")
        }
        try configuration.validate(path: path)
        return configuration
    }

    func validate(path: String) throws {
        func fail(_ reason: String) -> AttnError { .configInvalid(path: path, reason: reason) }
        guard modelType == "bert" else { throw fail("model_type is \(modelType), expected bert") }
        guard hiddenActivation == "gelu" else { throw fail("hidden_act is \(hiddenActivation); attn computes gelu only") }
        guard (positionEmbeddingType ?? "absolute") == "absolute" else { throw fail("position_embedding_type must be absolute") }
        for (name, value) in [("hidden_size", hiddenSize), ("num_hidden_layers", hiddenLayers),
                              ("num_attention_heads", attentionHeads), ("intermediate_size", intermediateSize),
                              ("vocab_size", vocabularySize), ("max_position_embeddings", maximumPositions),
                              ("type_vocab_size", typeVocabularySize)] {
            guard value > 0, value <= 1 << 20 else { throw fail("\(name) is \(value)") }
        }
        guard hiddenSize % attentionHeads == 0 else {
            throw fail("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(attentionHeads)")
        }
        guard layerNormEpsilon > 0, layerNormEpsilon < 1 else { throw fail("layer_norm_eps is \(layerNormEpsilon)") }
    }
}
