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

    /// The GGUF metadata keys, in one place.
    enum Key: String {
        case architecture = "general.architecture"
        case hiddenSize = "llama.embedding_length"
        case hiddenLayers = "llama.block_count"
        case attentionHeads = "llama.attention.head_count"
        case keyValueHeads = "llama.attention.head_count_kv"
        case intermediateSize = "llama.feed_forward_length"
        case rmsNormEpsilon = "llama.attention.layer_norm_rms_epsilon"
        case ropeBase = "llama.rope.freq_base"
        case contextLength = "llama.context_length"
        case tokens = "tokenizer.ggml.tokens"
    }

    /// The values attn accepts for each whole-number key: wide enough for the Llama models of the
    /// hub (Llama-3-70B has 8192, 80, 64, 8, 28672, 131072), narrow enough that no product of
    /// two of them overflows and a wrong file is caught here.
    static let ranges: [Key: ClosedRange<Int>] = [
        .hiddenSize: 1...16_384, .hiddenLayers: 1...256, .attentionHeads: 1...256, .keyValueHeads: 1...256,
        .intermediateSize: 1...131_072, .contextLength: 1...1_048_576, .tokens: 1...1_048_576,
    ]
    /// `llama.rope.freq_base`: above 1 (θᵢ must fall with i), at most 10⁹ (Llama 3 uses 500000).
    static let ropeBaseLimit: Float = 1e9

    /// Reads and checks the configuration of a GGUF file.
    /// - Throws: `.configInvalid` naming the missing or unusable key, and the range it must lie in.
    public init(gguf file: GGUFFile) throws {
        func fail(_ reason: String) -> AttnError { .configInvalid(path: file.path, reason: reason) }
        func check(_ key: Key, _ value: Int) throws -> Int {
            guard let range = Self.ranges[key], range.contains(value) else {
                let range = Self.ranges[key] ?? 1...1
                throw fail("\(key.rawValue) is \(value), outside \(range.lowerBound)…\(range.upperBound)")
            }
            return value
        }
        func int(_ key: Key) throws -> Int {
            guard let value = file.metadata[key.rawValue] else { throw fail("it has no \(key.rawValue)") }
            guard let number = value.int else {
                let range = Self.ranges[key] ?? 1...1
                throw fail("\(key.rawValue) is not a whole number in \(range.lowerBound)…\(range.upperBound)")
            }
            return try check(key, number)
        }
        func float(_ key: Key, default fallback: Float? = nil) throws -> Float {
            if let value = file.metadata[key.rawValue]?.float { return value }
            if let fallback { return fallback }
            throw fail("it has no \(key.rawValue)")
        }
        guard let architecture = file.metadata[Key.architecture.rawValue]?.string else { throw fail("it has no general.architecture") }
        guard architecture == "llama" else { throw fail("general.architecture is \(architecture); attn reads llama decoders") }
        hiddenSize = try int(.hiddenSize)
        hiddenLayers = try int(.hiddenLayers)
        attentionHeads = try int(.attentionHeads)
        keyValueHeads = try int(.keyValueHeads)
        intermediateSize = try int(.intermediateSize)
        rmsNormEpsilon = try float(.rmsNormEpsilon)
        ropeBase = try float(.ropeBase, default: 10000)
        contextLength = try int(.contextLength)
        guard let tokens = file.metadata[Key.tokens.rawValue]?.strings, !tokens.isEmpty else {
            throw fail("it has no tokenizer.ggml.tokens")
        }
        vocabularySize = try check(.tokens, tokens.count)
        guard hiddenSize % attentionHeads == 0, (hiddenSize / attentionHeads) % 2 == 0 else {
            throw fail("embedding length \(hiddenSize) does not split into \(attentionHeads) heads of even size")
        }
        guard attentionHeads % keyValueHeads == 0 else {
            throw fail("\(attentionHeads) query heads do not divide into \(keyValueHeads) key/value groups")
        }
        // Written so that NaN fails too.
        guard rmsNormEpsilon > 0, rmsNormEpsilon < 1 else {
            throw fail("\(Key.rmsNormEpsilon.rawValue) is \(rmsNormEpsilon), outside 0 < ε < 1")
        }
        guard ropeBase > 1, ropeBase <= Self.ropeBaseLimit else {
            throw fail("\(Key.ropeBase.rawValue) is \(ropeBase), outside 1 < θ ≤ 1e9")
        }
    }
}
