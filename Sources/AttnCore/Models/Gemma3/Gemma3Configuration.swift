import Foundation

/// The hyper-parameters of a Gemma 3 decoder, read from GGUF metadata (`gemma3.*` keys), with
/// the few that the GGUF converter leaves out taken from transformers' `Gemma3TextConfig`.
public struct Gemma3Configuration: Sendable, Equatable {
    public var hiddenSize: Int
    public var hiddenLayers: Int
    public var attentionHeads: Int
    public var keyValueHeads: Int
    /// dₕ, given by the file (`attention.key_length`), not d_model / heads: Gemma 3 270M has
    /// 4 heads of 256 in a 640-wide residual stream.
    public var headDimension: Int
    public var intermediateSize: Int
    public var rmsNormEpsilon: Float
    /// RoPE's base in the global (full-attention) layers: `gemma3.rope.freq_base`, 10⁶.
    public var globalRopeBase: Float
    /// RoPE's base in the local (sliding-window) layers: transformers' `rope_local_base_freq`,
    /// 10⁴; the GGUF does not record it.
    public var localRopeBase: Float
    /// How many keys a local layer's query sees, itself included: 512.
    public var slidingWindow: Int
    /// Every `slidingWindowPattern`-th layer is global, the others local: 6 (layers 5, 11, 17).
    public var slidingWindowPattern: Int
    /// The attention scale's denominator: scores are multiplied by `queryPreAttentionScalar^−½`.
    /// transformers' default, 256 (= dₕ for 270M); the GGUF does not record it.
    public var queryPreAttentionScalar: Int
    public var contextLength: Int
    public var vocabularySize: Int

    /// How many query heads share one key/value head (4 for 270M: all of them).
    public var groupSize: Int { attentionHeads / keyValueHeads }
    /// The embeddings are multiplied by √d_model before the first layer, as transformers'
    /// `Gemma3TextScaledWordEmbedding` computes it: √640 in double, rounded to float32.
    public var embeddingScale: Float { Float(Double(hiddenSize).squareRoot()) }

    /// Whether `layer` attends to the whole past (global) rather than the last ``slidingWindow``
    /// tokens (local): every sixth layer, as transformers' `layer_types` by default.
    public func isGlobal(_ layer: Int) -> Bool { (layer + 1) % slidingWindowPattern == 0 }

    /// RoPE's base in `layer`.
    public func ropeBase(layer: Int) -> Float { isGlobal(layer) ? globalRopeBase : localRopeBase }

    /// The keys a query of `layer` may see: nil for all of its past (global), else the window.
    public func window(layer: Int) -> Int? { isGlobal(layer) ? nil : slidingWindow }

    /// The values attn accepts for each whole-number key (`gemma3.NAME`): every decoder's, and
    /// Gemma's head width (27B: 128) and window.
    static let ranges = GGUFMetadataReader.decoderRanges.merging([
        "attention.key_length": 2...1024, "attention.value_length": 2...1024, "attention.sliding_window": 1...1_048_576,
    ]) { $1 }

    /// Reads and checks the configuration of a GGUF file.
    /// - Throws: `.configInvalid` naming the missing or unusable key, and the range it must lie in.
    public init(gguf file: GGUFFile) throws {
        let metadata = try GGUFMetadataReader(file, architecture: "gemma3")
        func fail(_ reason: String) -> AttnError { metadata.fail(reason) }
        func int(_ name: String) throws -> Int { try metadata.int(name, in: Self.ranges[name] ?? 1...1) }
        hiddenSize = try int("embedding_length")
        hiddenLayers = try int("block_count")
        attentionHeads = try int("attention.head_count")
        keyValueHeads = try int("attention.head_count_kv")
        headDimension = try int("attention.key_length")
        let valueLength = try int("attention.value_length")
        intermediateSize = try int("feed_forward_length")
        rmsNormEpsilon = try metadata.float("attention.layer_norm_rms_epsilon")
        globalRopeBase = try metadata.float("rope.freq_base", default: 1_000_000)
        localRopeBase = 10_000
        slidingWindow = try int("attention.sliding_window")
        slidingWindowPattern = 6
        queryPreAttentionScalar = headDimension
        contextLength = try int("context_length")
        vocabularySize = try metadata.vocabularySize(in: GGUFMetadataReader.vocabularyRange)
        guard valueLength == headDimension, headDimension % 2 == 0 else {
            throw fail("gemma3.attention.key_length \(headDimension) and value_length \(valueLength) must be equal and even")
        }
        guard attentionHeads % keyValueHeads == 0 else {
            throw fail("\(attentionHeads) query heads do not divide into \(keyValueHeads) key/value groups")
        }
        if let scaling = file.metadata["gemma3.rope.scaling.type"]?.string, scaling != "none" {
            throw fail("gemma3.rope.scaling.type is \(scaling); attn reads Gemma 3 without RoPE scaling (270M, 1B)")
        }
        // Written so that NaN fails too.
        guard rmsNormEpsilon > 0, rmsNormEpsilon < 1 else {
            throw fail("gemma3.attention.layer_norm_rms_epsilon is \(rmsNormEpsilon), outside 0 < ε < 1")
        }
        guard globalRopeBase > 1, globalRopeBase <= GGUFMetadataReader.ropeBaseLimit else {
            throw fail("gemma3.rope.freq_base is \(globalRopeBase), outside 1 < θ ≤ 1e9")
        }
    }
}
