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

/// One decoder layer's weights, in PyTorch layout (out × in) and Hugging Face's row order.
public struct LlamaLayerWeights: Sendable {
    public let attentionNorm: [Float]
    public let query: Matrix, key: Matrix, value: Matrix, output: Matrix
    public let feedForwardNorm: [Float]
    public let gate: Matrix, up: Matrix, down: Matrix
}

/// All the weights of a Llama GGUF checkpoint, dequantized to float32.
///
/// ``LlamaWeights/checkpointName(_:layer:)`` maps fields to GGUF tensor names in one place.
/// llama.cpp's converter permutes the rows of `attn_q` and `attn_k` so that its RoPE can rotate
/// adjacent pairs `(2i, 2i+1)`; Hugging Face rotates `(i, i + dₕ/2)`. Loading undoes the
/// permutation, so q and k are shown — and computed — in Hugging Face's layout:
/// ```
/// W_hf[h·dₕ + j·dₕ/2 + i] = W_gguf[h·dₕ + 2i + j]        j ∈ {0, 1}, i < dₕ/2
/// ```
public struct LlamaWeights: Sendable {
    public let tokenEmbeddings: Matrix      // vocabulary × d (also the output projection: tied)
    public let layers: [LlamaLayerWeights]
    public let outputNorm: [Float]

    public enum Field: Sendable, CaseIterable {
        case tokenEmbeddings, outputNorm
        case attentionNorm, query, key, value, output, feedForwardNorm, gate, up, down
    }

    /// The GGUF name of a field, e.g. `blk.2.attn_q.weight`.
    public static func checkpointName(_ field: Field, layer: Int = 0) -> String {
        let b = "blk.\(layer)"
        switch field {
        case .tokenEmbeddings: return "token_embd.weight"
        case .outputNorm: return "output_norm.weight"
        case .attentionNorm: return "\(b).attn_norm.weight"
        case .query: return "\(b).attn_q.weight"
        case .key: return "\(b).attn_k.weight"
        case .value: return "\(b).attn_v.weight"
        case .output: return "\(b).attn_output.weight"
        case .feedForwardNorm: return "\(b).ffn_norm.weight"
        case .gate: return "\(b).ffn_gate.weight"
        case .up: return "\(b).ffn_up.weight"
        case .down: return "\(b).ffn_down.weight"
        }
    }

    /// The shape (rows × columns, PyTorch order) a field must have.
    public static func expectedShape(_ field: Field, _ c: LlamaConfiguration) -> [Int] {
        let d = c.hiddenSize, kv = c.keyValueHeads * c.headDimension, f = c.intermediateSize
        switch field {
        case .tokenEmbeddings: return [c.vocabularySize, d]
        case .outputNorm, .attentionNorm, .feedForwardNorm: return [1, d]
        case .query, .output: return [d, d]
        case .key, .value: return [kv, d]
        case .gate, .up: return [f, d]
        case .down: return [d, f]
        }
    }

    /// Dequantizes every tensor, checking names and shapes.
    /// - Throws: `.tensorMissing`, `.tensorShape`, `.tensorUnexpected`, `.tensorNotFinite`,
    ///   `.modelTooLarge` beyond ``ModelBudget/maximumWeightBytes``, or a GGUF error.
    public init(file: GGUFFile, configuration c: LlamaConfiguration) throws {
        // Every (field, layer) to read.
        var jobs: [(Field, Int)] = [(.tokenEmbeddings, 0), (.outputNorm, 0)]
        for l in 0..<c.hiddenLayers {
            for field in [Field.attentionNorm, .query, .key, .value, .output, .feedForwardNorm, .gate, .up, .down] {
                jobs.append((field, l))
            }
        }
        let used = Set(jobs.map { Self.checkpointName($0.0, layer: $0.1) })
        // The output projection is tied to the embeddings in SmolLM2; a separate one is not read.
        if let stray = file.tensors.keys.sorted().first(where: { !used.contains($0) }) {
            throw AttnError.tensorUnexpected(name: stray, path: file.path)
        }
        // What dequantizing asks for, before any of it is allocated: the file's tensors as they
        // are, and the configuration's (a header can promise a 4 GB tensor in a sparse file).
        try ModelBudget.check(file.tensors.values.map(\.dimensions), path: file.path)
        try ModelBudget.check(jobs.map { Self.expectedShape($0.0, c) }, path: file.path)
        for (field, layer) in jobs {
            let name = Self.checkpointName(field, layer: layer)
            guard let info = file.tensors[name] else { throw AttnError.tensorMissing(name: name, path: file.path) }
            let shape = info.dimensions.count == 1 ? [1, info.dimensions[0]] : info.dimensions.reversed()
            let expected = Self.expectedShape(field, c)
            guard shape == expected else { throw AttnError.tensorShape(name: name, expected: expected, found: Array(shape)) }
        }

        // Dequantize (GGUFFile spreads each tensor's blocks over the cores).
        let matrices = try jobs.map { field, layer in
            var matrix = try file.matrix(Self.checkpointName(field, layer: layer), requiringFinite: true)
            if field == .query { matrix = Self.unpermute(matrix, heads: c.attentionHeads) }
            if field == .key { matrix = Self.unpermute(matrix, heads: c.keyValueHeads) }
            return matrix
        }
        tokenEmbeddings = matrices[0]
        outputNorm = matrices[1].values
        layers = (0..<c.hiddenLayers).map { l in
            let m = matrices[(2 + 9 * l)..<(2 + 9 * (l + 1))].map { $0 }
            return LlamaLayerWeights(attentionNorm: m[0].values, query: m[1], key: m[2], value: m[3], output: m[4],
                                     feedForwardNorm: m[5].values, gate: m[6], up: m[7], down: m[8])
        }
    }

    /// Undoes llama.cpp's row permutation of a q or k weight (see the type's documentation).
    static func unpermute(_ w: Matrix, heads: Int) -> Matrix {
        let dh = w.rows / heads, half = dh / 2
        var out = Matrix(rows: w.rows, columns: w.columns)
        for h in 0..<heads {
            for j in 0..<2 {
                for i in 0..<half {
                    let source = h * dh + 2 * i + j, target = h * dh + j * half + i
                    for c in 0..<w.columns { out.values[target * w.columns + c] = w.values[source * w.columns + c] }
                }
            }
        }
        return out
    }
}

/// A Llama-style decoder (SmolLM2-135M-Instruct) whose forward pass keeps every intermediate.
///
/// ```
/// x₀ = E[ids]
/// for each layer:
///     h = RMSNorm(x) ⊙ g                                   pre-norm
///     for each query head i (key/value head j = i / group):
///         q = RoPE(h·W_Qᵀ [head i]), k = RoPE(h·W_Kᵀ [head j]), v = h·W_Vᵀ [head j]
///         z_i = softmax(causal(q·kᵀ / √dₕ)) · v
///     attn_residual = x + [z₀ | … | z₈] · W_Oᵀ
///     out = attn_residual + (SiLU(n·W_gateᵀ) ⊙ n·W_upᵀ) · W_downᵀ,   n = RMSNorm(attn_residual) ⊙ g₂
/// logits = RMSNorm(out) · Eᵀ                               tied embeddings
/// ```
public struct Llama: Sendable {
    public let configuration: LlamaConfiguration
    public let weights: LlamaWeights
    public let tokenizer: BPETokenizer
    /// The GGUF file the model was loaded from.
    public let path: String
    /// The Jinja text that turns a conversation into a prompt (`tokenizer.chat_template`), if the
    /// file has one; read by `ChatTemplate`.
    public let chatTemplate: String?
    /// How the file stores each tensor (Q8_0, Q4_1, F32, …), by its GGUF name: what provenance
    /// says the numbers were dequantized from.
    public let storedTypes: [String: GGMLType]

    /// The most tokens the notebook traces at once: every head of every layer keeps its T × T
    /// matrices, so memory grows with T² (256 tokens: about 300 MB).
    public static let traceLimit = 256

    /// The most tokens this model traces: ``traceLimit``, its context length, and fewer for a
    /// model with so many heads that their T × T matrices would outgrow ``ModelBudget/maximumTraceBytes``.
    public var tokenLimit: Int {
        ModelBudget.tokenLimit(layers: configuration.hiddenLayers, heads: configuration.attentionHeads,
                               limit: min(Self.traceLimit, configuration.contextLength))
    }

    /// The file name inside the model directory.
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// Loads a GGUF file, or the GGUF file inside a directory.
    public init(path: String) throws {
        var file = path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".gguf") }.sorted()
            guard let name = names.first(where: { $0 == Self.fileName }) ?? names.first else {
                throw AttnError.fileUnreadable(path: path, reason: "the directory holds no .gguf file")
            }
            file = path + "/" + name
        }
        let gguf = try GGUFFile(path: file)
        configuration = try LlamaConfiguration(gguf: gguf)
        weights = try LlamaWeights(file: gguf, configuration: configuration)
        tokenizer = try BPETokenizer(gguf: gguf)
        chatTemplate = gguf.metadata["tokenizer.chat_template"]?.string
        storedTypes = gguf.tensors.mapValues(\.type)
        self.path = file
    }

    /// Tokenizes `text` and runs the forward pass.
    /// - Throws: `.sequenceTooLong` beyond ``traceLimit``; `.emptySequence`-like error for no tokens.
    public func trace(_ text: String, ablating ablated: Set<Attention.HeadIndex> = []) throws -> Trace {
        let ids = tokenizer.encode(text)
        guard !ids.isEmpty else { throw AttnError.noTokens }
        guard ids.count <= tokenLimit else { throw AttnError.sequenceTooLong(tokens: ids.count, limit: tokenLimit) }
        return trace(ids: ids, ablating: ablated)
    }

    /// The forward pass over token ids, keeping every intermediate.
    /// - Parameter ablated: heads whose output is zeroed (their `z`), everything after recomputed.
    public func trace(ids: [Int], ablating ablated: Set<Attention.HeadIndex> = []) -> Trace {
        let c = configuration
        let embeddings = weights.tokenEmbeddings.rows(at: ids)
        let rotation = Rotation(headDimension: c.headDimension, base: c.ropeBase, positions: 0..<ids.count)
        var layers: [LayerTrace] = []
        var x = embeddings
        for (index, layerWeights) in weights.layers.enumerated() {
            let heads = Set(ablated.filter { $0.layer == index }.map(\.head))
            let layer = self.layer(x, layerWeights, rotation: rotation, ablated: heads).trace
            layers.append(layer)
            x = layer.out
        }
        let finalNorm = rmsNorm(x, gain: weights.outputNorm, epsilon: c.rmsNormEpsilon)
        let logits = finalNorm.multiplied(by: weights.tokenEmbeddings, transposeB: true)
        return Trace(tokenIds: ids, tokens: ids.map { Self.visible(tokenizer.tokenText($0)) }, tokenEmbeddings: embeddings,
                     embeddings: embeddings, layers: layers, finalNorm: finalNorm, logits: logits, isCausal: true)
    }

    /// One decoder layer: RMSNorm, grouped-query causal attention with RoPE, residual; RMSNorm,
    /// SwiGLU feed-forward, residual.
    ///
    /// The one layer function of the decoder: ``trace(ids:ablating:)`` calls it with no past, and a
    /// decoding step (``forward(_:cache:ablating:)``) with the rotated keys and values of the
    /// positions before `x` (a KV cache), which the new rows attend to as well. It returns the
    /// layer's trace and the keys and values of every position so far.
    /// - Parameter past: rotated keys and values of earlier positions, (P × kv·dₕ) each.
    func layer(_ x: Matrix, _ w: LlamaLayerWeights, rotation: Rotation, ablated: Set<Int> = [],
               past: (keys: Matrix, values: Matrix)? = nil) -> (trace: LayerTrace, keys: Matrix, values: Matrix) {
        let c = configuration
        let dh = c.headDimension

        // Pre-norm, then project all heads at once and cut each head's columns.
        let h = rmsNorm(x, gain: w.attentionNorm, epsilon: c.rmsNormEpsilon)
        let queries = h.multiplied(by: w.query, transposeB: true)   // (T × d)
        let keys = h.multiplied(by: w.key, transposeB: true)        // (T × kv·dₕ)
        let values = h.multiplied(by: w.value, transposeB: true)    // (T × kv·dₕ)

        // Keys and values once per key/value head; the query heads of a group share them. The new
        // keys are rotated by their positions and joined after the past ones.
        let keysBefore = (0..<c.keyValueHeads).map { Attention.headSlice(keys, head: $0, headDimension: dh) }
        let rotated = Matrix.concatenateColumns(keysBefore.map(rotation.apply))
        let allKeys = past.map { Matrix.concatenateRows([$0.keys, rotated]) } ?? rotated       // (P+T × kv·dₕ)
        let allValues = past.map { Matrix.concatenateRows([$0.values, values]) } ?? values     // (P+T × kv·dₕ)
        let headKeys = (0..<c.keyValueHeads).map { Attention.headSlice(allKeys, head: $0, headDimension: dh) }
        let headValues = (0..<c.keyValueHeads).map { Attention.headSlice(allValues, head: $0, headDimension: dh) }
        // Query i is at position P + i and sees keys 0…P + i.
        let mask = Attention.Mask.causal(past: past?.keys.rows ?? 0)

        // The encoder's head, with the decoder's two additions: query head i reads key/value head
        // i / group, and its query is turned by RoPE.
        let heads = (0..<c.attentionHeads).map { i in
            let j = i / c.groupSize
            let qBefore = Attention.headSlice(queries, head: i, headDimension: dh)
            var head = Attention.head(query: rotation.apply(qBefore), key: headKeys[j], value: headValues[j],
                                      mask: mask, ablated: ablated.contains(i), keyValueHead: j)
            head.queriesBeforeRotation = qBefore
            head.keysBeforeRotation = keysBefore[j]
            return head
        }

        let concat = Matrix.concatenateColumns(heads.map(\.z))
        let attentionOutput = concat.multiplied(by: w.output, transposeB: true)
        let residual = x + attentionOutput

        // SwiGLU: SiLU(gate) ⊙ up, then down.
        let n = rmsNorm(residual, gain: w.feedForwardNorm, epsilon: c.rmsNormEpsilon)
        let gate = n.multiplied(by: w.gate, transposeB: true)
        let up = n.multiplied(by: w.up, transposeB: true)
        let activation = swiGLU(gate: gate, up: up)
        let down = activation.multiplied(by: w.down, transposeB: true)
        let out = residual + down

        let trace = LayerTrace(x: x, attentionInput: h, heads: heads, concat: concat, attentionOutput: attentionOutput,
                               attentionResidual: residual, feedForwardInput: n, feedForwardGate: gate,
                               feedForwardUp: up, feedForwardActivation: activation, feedForwardOutput: down, out: out)
        return (trace, allKeys, allValues)
    }

    /// A token's text made visible as a one-line label: a space is `·`, a line end `↵`, a tab `⇥`,
    /// other control characters `\u{…}`; an empty text is `∅`.
    public static func visible(_ text: String) -> String {
        if text.isEmpty { return "∅" }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case " ": out += "·"
            case "\n": out += "↵"
            case "\t": out += "⇥"
            case "\r": out += "␍"
            default:
                if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

}

/// RMS normalization of each row, with a learned gain.
/// ```
/// RMSNorm(x) = x / √(mean(x²) + ε) ⊙ g
/// ```
public func rmsNorm(_ x: Matrix, gain: [Float], epsilon: Float) -> Matrix {
    var out = x
    for i in 0..<x.rows {
        let base = i * x.columns
        var squares: Float = 0
        for j in 0..<x.columns { squares += x.values[base + j] * x.values[base + j] }
        let inverse = 1 / (squares / Float(x.columns) + epsilon).squareRoot()
        for j in 0..<x.columns { out.values[base + j] = x.values[base + j] * inverse * gain[j] }
    }
    return out
}

/// SwiGLU's activation: `SiLU(gate) ⊙ up`.
public func swiGLU(gate: Matrix, up: Matrix) -> Matrix {
    Matrix(rows: gate.rows, columns: gate.columns,
           values: zip(gate.values, up.values).map { g, u in silu(g) * u })
}

/// SiLU (the swish), the gate's activation in SwiGLU.
/// ```
/// SiLU(x) = x · σ(x) = x / (1 + e⁻ˣ)
/// ```
@inlinable
public func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

/// Rotary position embedding (RoPE) in Hugging Face's layout: dimension `i` is paired with
/// `i + dₕ/2`, and the pair of position `p` is rotated by the angle `p · θᵢ`.
/// ```
/// θᵢ = base^(−2i/dₕ)                          i < dₕ/2
/// q'ᵢ        = qᵢ cos(pθᵢ) − q_{i+dₕ/2} sin(pθᵢ)
/// q'_{i+dₕ/2} = q_{i+dₕ/2} cos(pθᵢ) + qᵢ sin(pθᵢ)
/// ```
/// Because a rotation by `pθ` then the dot product with a key rotated by `p′θ` depends only on
/// `p − p′`, the scores see relative positions.
public struct Rotation: Sendable {
    public let headDimension: Int
    /// The angle per unit of position, θᵢ, for each pair.  (dₕ/2)
    public let frequencies: [Float]
    /// cos and sin of p · θᵢ for each position and pair.  (T × dₕ/2)
    public let cosines: Matrix
    public let sines: Matrix
    public let positions: Range<Int>

    public init(headDimension: Int, base: Float, positions: Range<Int>) {
        self.headDimension = headDimension
        self.positions = positions
        let half = headDimension / 2
        // As Hugging Face computes them: in float32, base^(2i/dₕ) then its reciprocal.
        frequencies = (0..<half).map { 1 / powf(base, Float(2 * $0) / Float(headDimension)) }
        var cosines = Matrix(rows: positions.count, columns: half)
        var sines = Matrix(rows: positions.count, columns: half)
        for (row, p) in positions.enumerated() {
            for i in 0..<half {
                let angle = Float(p) * frequencies[i]
                cosines[row, i] = cosf(angle)
                sines[row, i] = sinf(angle)
            }
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// Rotates every row of `x` (T × dₕ), row `r` by position `positions[r]`.
    public func apply(_ x: Matrix) -> Matrix {
        let half = headDimension / 2
        var out = x
        for r in 0..<x.rows {
            for i in 0..<half {
                let a = x[r, i], b = x[r, i + half]
                let c = cosines[r, i], s = sines[r, i]
                out[r, i] = a * c - b * s
                out[r, i + half] = b * c + a * s
            }
        }
        return out
    }
}
