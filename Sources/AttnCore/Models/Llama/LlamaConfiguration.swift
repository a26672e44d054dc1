import Foundation

/// The hyper-parameters of a Llama-style decoder, read from GGUF metadata (`llama.*` keys).
public struct LlamaConfiguration: Sendable, Equatable {
    public var hiddenSize: Int
    public var hiddenLayers: Int
    public var attentionHeads: Int
    public var keyValueHeads: Int
    public var intermediateSize: Int
    public var rmsNormEpsilon: Float
    public var ropeBase: Float
    public var contextLength: Int
    public var vocabularySize: Int

    /// The width of one head: `d_model / heads` (64 for SmolLM2-135M).
    public var headDimension: Int { hiddenSize / attentionHeads }
    /// How many query heads share one key/value head (3 for SmolLM2-135M).
    public var groupSize: Int { attentionHeads / keyValueHeads }

    /// Reads and checks the configuration of a GGUF file.
    /// - Throws: `.configInvalid` naming the missing or unusable key, and the range it must lie in.
    public init(gguf file: GGUFFile) throws {
        let metadata = try GGUFMetadataReader(file, architecture: "llama")
        func fail(_ reason: String) -> AttnError { metadata.fail(reason) }
        func int(_ name: String) throws -> Int { try metadata.int(name, in: GGUFMetadataReader.decoderRanges[name] ?? 1...1) }
        hiddenSize = try int("embedding_length")
        hiddenLayers = try int("block_count")
        attentionHeads = try int("attention.head_count")
        keyValueHeads = try int("attention.head_count_kv")
        intermediateSize = try int("feed_forward_length")
        rmsNormEpsilon = try metadata.float("attention.layer_norm_rms_epsilon")
        ropeBase = try metadata.float("rope.freq_base", default: 10000)
        contextLength = try int("context_length")
        vocabularySize = try metadata.vocabularySize(in: GGUFMetadataReader.vocabularyRange)
        guard hiddenSize % attentionHeads == 0, (hiddenSize / attentionHeads) % 2 == 0 else {
            throw fail("embedding length \(hiddenSize) does not split into \(attentionHeads) heads of even size")
        }
        guard attentionHeads % keyValueHeads == 0 else {
            throw fail("\(attentionHeads) query heads do not divide into \(keyValueHeads) key/value groups")
        }
        // Written so that NaN fails too.
        guard rmsNormEpsilon > 0, rmsNormEpsilon < 1 else {
            throw fail("llama.attention.layer_norm_rms_epsilon is \(rmsNormEpsilon), outside 0 < ε < 1")
        }
        guard ropeBase > 1, ropeBase <= GGUFMetadataReader.ropeBaseLimit else {
            throw fail("llama.rope.freq_base is \(ropeBase), outside 1 < θ ≤ 1e9")
        }
    }
}
