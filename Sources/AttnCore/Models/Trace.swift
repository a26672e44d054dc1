import Foundation

/// One attention head's intermediates, in the order they are computed.
public struct HeadTrace: Sendable {
    /// Decoder only: the queries before the rotary position embedding.   (T × dₕ)
    public var queriesBeforeRotation: Matrix? { computeBeforeRotation?.queries() }
    /// Decoder only: the keys before the rotary position embedding.      (T × dₕ)
    public var keysBeforeRotation: Matrix? { computeBeforeRotation?.keys() }
    /// Gemma 3's QK-norm: the queries RMS-normalized per head, before RoPE. (T × dₕ)
    public var queriesNormalized: Matrix? { computeNormalized?.queries() }
    /// Gemma 3's QK-norm: the keys RMS-normalized per head, before RoPE.    (T × dₕ)
    public var keysNormalized: Matrix? { computeNormalized?.keys() }
    /// Whether q and k are turned by RoPE (a decoder's): they have a step before it.
    public var isRotated: Bool { computeBeforeRotation != nil }
    /// The steps above are computed again from the layer's input when asked for, by the model's
    /// own functions (the very products of its forward pass, so the same bytes): kept, they would
    /// be a fifth of a long trace. Each read computes afresh; the projections of all heads at once,
    /// cut to this head.
    var computeBeforeRotation: (queries: @Sendable () -> Matrix, keys: @Sendable () -> Matrix)? = nil
    var computeNormalized: (queries: @Sendable () -> Matrix, keys: @Sendable () -> Matrix)? = nil
    /// `q = x · W_Qᵀ + b_Q`, this head's columns (decoder: after RoPE)     (T × dₕ)
    public var q: Matrix
    /// `k = x · W_Kᵀ + b_K`, this head's columns (decoder: its key/value head's, after RoPE)  (T × dₕ)
    public var k: Matrix
    /// `v = x · W_Vᵀ + b_V`, this head's columns (decoder: its key/value head's)  (T × dₕ)
    public var v: Matrix
    /// Which keys each query may attend to.
    public var mask: Attention.Mask
    /// `z = weights · v`                                  (T × dₕ)
    public var z: Matrix
    /// The key/value head this query head reads (itself, without grouped-query attention).
    public var keyValueHead: Int

    // The T × T steps are not kept: a trace of T tokens would hold layers · heads · 4 · T² floats
    // (17 GB for SmolLM2 at 2048 tokens). They are computed again when asked for, from q, k and the
    // mask, by the very functions the forward pass used (``Attention/tokenByToken(query:key:mask:)``),
    // so they are the same bytes. Each property below computes its steps afresh: read
    // ``tokenByToken()`` once for several of them, and ``Trace/tokenByToken(layer:head:)`` to keep
    // the last heads shown.

    /// All four T × T steps of this head, computed again.
    public func tokenByToken() -> Attention.TokenByToken {
        Attention.tokenByToken(query: q, key: k, mask: mask)
    }
    /// `scores = q · kᵀ`                                  (T × T)
    public var scores: Matrix { Attention.scores(queries: q, keys: k, mask: mask) }
    /// `scaled = scores / √dₕ`                            (T × T)
    public var scaled: Matrix { tokenByToken().scaled }
    /// `masked`: scaled with −∞ where the mask forbids    (T × T)
    public var masked: Matrix { tokenByToken().masked }
    /// `weights = softmax(masked)` by rows                (T × T)
    public var weights: Matrix { tokenByToken().weights }
}

/// One layer's intermediates: its input, every head, and the rest of the block.
///
/// The encoder (BERT, post-LayerNorm) and the decoder (Llama, pre-RMSNorm, SwiGLU) share most
/// steps; the ones only one of them has are optional.
public struct LayerTrace: Sendable {
    /// The layer's input: the embeddings for layer 0, else the previous layer's `out`.   (T × d)
    public var x: Matrix
    /// Pre-norm models: `RMSNorm(x)` (Llama) or `LN(x)` (GPT-2's ln_1), what attention reads,
    /// computed again from x when asked for.                                              (T × d)
    public var attentionInput: Matrix? { computeAttentionInput?() }
    var computeAttentionInput: (@Sendable () -> Matrix)? = nil
    /// Every head of this layer.
    public var heads: [HeadTrace]
    /// The heads side by side, `[z₀ | z₁ | …]`, joined again when asked for.              (T × d)
    public var concat: Matrix { Matrix.concatenateColumns(heads.map(\.z)) }
    /// The output projection, `concat · W_Oᵀ + b_O`.                                       (T × d)
    public var attentionOutput: Matrix
    /// Gemma 3: `RMSNorm(attn_out)`, what is added to the residual stream.                 (T × d)
    public var attentionPostNorm: Matrix? = nil
    /// Encoder only: residual and LayerNorm, `LN(x + attn_out)`.                           (T × d)
    public var attentionNorm: Matrix? = nil
    /// Pre-norm models: the residual stream after attention, `x + attn_out` (Gemma 3:
    /// `x + post_attn_norm`), added again when asked for.                                 (T × d)
    public var attentionResidual: Matrix? { computeAttentionResidual?() }
    var computeAttentionResidual: (@Sendable () -> Matrix)? = nil
    /// Pre-norm models: `RMSNorm(attn_residual)` or `LN(attn_residual)` (ln_2), what the
    /// feed-forward reads, computed again from attn_residual when asked for.                (T × d)
    public var feedForwardInput: Matrix? { computeFeedForwardInput?() }
    var computeFeedForwardInput: (@Sendable () -> Matrix)? = nil
    /// The feed-forward's intermediates (T × d_ff each), computed again from its input by the
    /// model's own function (the one its forward pass called) when asked for: kept, they would
    /// be a third of a trace. ``Trace/feedForwardSteps(layer:)`` keeps the last layer's.
    public var computeFeedForward: @Sendable () -> FeedForwardSteps
    /// The feed-forward's second projection.                                               (T × d)
    public var feedForwardOutput: Matrix
    /// Gemma 3: `RMSNorm(ffn_out)`, what is added to the residual stream.                  (T × d)
    public var feedForwardPostNorm: Matrix? = nil
    /// The layer's output, the next layer's `x`.                                            (T × d)
    public var out: Matrix

    /// Computes the feed-forward's intermediates again (each call afresh).
    public func feedForwardSteps() -> FeedForwardSteps { computeFeedForward() }
    /// Decoder only: the gate and up projections.                                          (T × d_ff)
    public var feedForwardGate: Matrix? { feedForwardSteps().gate }
    public var feedForwardUp: Matrix? { feedForwardSteps().up }
    /// BERT and GPT-2: the feed-forward's first projection, before its activation.           (T × d_ff)
    public var feedForwardHidden: Matrix? { feedForwardSteps().hidden }
    /// After the non-linearity: GELU (BERT, GPT-2), SiLU(gate) ⊙ up (Llama), GELU_tanh(gate) ⊙ up (Gemma 3). (T × d_ff)
    public var feedForwardActivation: Matrix { feedForwardSteps().activation }
}

/// A feed-forward's T × d_ff intermediates.
public struct FeedForwardSteps: Sendable {
    /// Gated feed-forwards (Llama, Gemma 3): the gate and up projections.
    public var gate: Matrix? = nil
    public var up: Matrix? = nil
    /// BERT and GPT-2: the first projection, before the activation.
    public var hidden: Matrix? = nil
    /// What the second projection reads.
    public var activation: Matrix

    public init(gate: Matrix? = nil, up: Matrix? = nil, hidden: Matrix? = nil, activation: Matrix) {
        (self.gate, self.up, self.hidden, self.activation) = (gate, up, hidden, activation)
    }
}

/// Every intermediate of one forward pass over one sentence.
public struct Trace: Sendable {
    /// The token ids (for BERT, `[CLS]` and `[SEP]` included).
    public var tokenIds: [Int]
    /// The token strings as the learner reads them, one per id.
    public var tokens: [String]
    /// Rows of the token embedding table, one per token.                  (T × d)
    public var tokenEmbeddings: Matrix
    /// Learned positions (BERT, GPT-2): rows of the position table, 0…T−1. (T × d)
    public var positionEmbeddings: Matrix? = nil
    /// Encoder only: rows of the token-type table; all type 0 here.         (T × d)
    public var typeEmbeddings: Matrix? = nil
    /// The first layer's input: `LN(token + position + type)` (BERT), `token + position` (GPT-2)
    /// or the token embeddings (Llama).                                    (T × d)
    public var embeddings: Matrix
    /// One entry per layer.
    public var layers: [LayerTrace]
    /// Decoder only: the final norm of the last layer's `out`.               (T × d)
    public var finalNorm: Matrix? = nil
    /// Decoder only: the model's own last step, `final_norm · Eᵀ` of the rows given
    /// (``DecoderModel/logits(_:)``), from which ``logits`` is computed when asked for.
    public var unembedding: (@Sendable (Matrix) -> Matrix)? = nil
    /// Whether each token attended only to itself and the past: a decoder's causal mask.
    public var isCausal = false
    /// The steps the model lists (its `steps`); ``matrix(_:layer:head:)`` has nothing for the
    /// others, even where a field holds a matrix under another step's name (GPT-2's `ln_1` is
    /// Llama's `rmsnorm` slot, and `show rmsnorm` on GPT-2 is an error). Nil: every step.
    public var steps: Set<Step>? = nil

    /// The heads whose T × T steps were asked for last, shared by the copies of this trace.
    let recentHeads = RecentValues<Attention.HeadIndex, Attention.TokenByToken>(budget: 256 << 20) {
        4 * MemoryLayout<Float>.size * $0.weights.rows * $0.weights.columns
    }
    /// The logits, once asked for.
    let keptLogits = RecentValues<Bool, Matrix>()
    /// The feed-forward steps of the layer asked for last.
    let recentFeedForward = RecentValues<Int, FeedForwardSteps>()

    /// One layer's feed-forward intermediates, computed again (``LayerTrace/feedForwardSteps()``)
    /// or kept from the last time the same layer was asked for.
    public func feedForwardSteps(layer: Int) -> FeedForwardSteps {
        recentFeedForward.value(layer) { layers[layer].feedForwardSteps() }
    }

    /// Decoder only: `final_norm · Eᵀ`, a score for every vocabulary entry. (T × vocabulary)
    ///
    /// Not computed by the forward pass: at 2048 tokens SmolLM2's would take 400 MB, and most
    /// commands need one row. Computed by the model's own function the first time, then kept.
    public var logits: Matrix? {
        guard let unembedding, let finalNorm else { return nil }
        return keptLogits.value(true) { unembedding(finalNorm) }
    }

    /// Decoder only: the logits of position `i` alone (the next token after it), one row's product.
    public func logits(row i: Int) -> [Float]? {
        guard let unembedding, let finalNorm, finalNorm.rows > i, i >= 0 else { return nil }
        if let kept = keptLogits.kept(true) { return kept.row(i) }
        return unembedding(finalNorm.rows(i..<(i + 1))).values
    }

    /// The number of tokens, `T`.
    public var count: Int { tokenIds.count }

    /// One head's T × T steps, computed again from its q and k (``HeadTrace/tokenByToken()``), or
    /// kept from the last time: `scores`, then `weights`, then `check …` of the same head compute
    /// them once.
    public func tokenByToken(layer: Int, head: Int) -> Attention.TokenByToken {
        recentHeads.value(Attention.HeadIndex(layer: layer, head: head)) { layers[layer].heads[head].tokenByToken() }
    }
}

/// Values computed when first asked for and kept for the next time, shared by the copies of a
/// trace: the newest always, older ones while they take at most `budget` bytes together. A
/// trace keeps the T × T steps of the last heads shown (256 MB beside the newest: at 8192 tokens
/// one head's four matrices take 1 GiB), the last layer's feed-forward steps and its logits.
final class RecentValues<Key: Equatable, Value>: @unchecked Sendable {
    // @unchecked: every access holds the lock.
    private let lock = NSLock()
    private let budget: Int
    private let bytes: (Value) -> Int
    /// Most recent last.
    private var kept: [(key: Key, value: Value)] = []

    /// - Parameters:
    ///   - budget: the most bytes kept besides the newest value (0: the newest alone).
    ///   - bytes: what a value takes.
    init(budget: Int = 0, bytes: @escaping (Value) -> Int = { _ in 0 }) {
        (self.budget, self.bytes) = (budget, bytes)
    }

    /// The value kept for `key`, if any.
    func kept(_ key: Key) -> Value? {
        lock.lock()
        defer { lock.unlock() }
        return kept.last { $0.key == key }?.value
    }

    /// The value for `key`: kept, or computed (outside the lock) and kept.
    func value(_ key: Key, compute: () -> Value) -> Value {
        lock.lock()
        if let index = kept.firstIndex(where: { $0.key == key }) {
            let entry = kept.remove(at: index)
            kept.append(entry)
            lock.unlock()
            return entry.value
        }
        lock.unlock()
        let value = compute()
        lock.lock()
        defer { lock.unlock() }
        kept.append((key, value))
        // Drop the oldest until the others fit the budget; the newest stays whatever its size.
        while kept.count > 1, kept.dropLast().reduce(0, { $0 + bytes($1.value) }) > budget {
            kept.removeFirst()
        }
        return value
    }
}

/// The steps of a forward pass that are matrices, by the names the learner types.
public enum Step: String, CaseIterable, Sendable {
    case tokenEmbeddings = "token_embeddings", positionEmbeddings = "position_embeddings"
    case typeEmbeddings = "type_embeddings", embeddings
    case x, rmsnorm, layerNorm1 = "ln_1"
    case queriesBeforeRotation = "q_prerope", keysBeforeRotation = "k_prerope"
    case queriesNormalized = "q_norm", keysNormalized = "k_norm"
    case q, k, v, scores, scaled, masked, weights, z
    case concat, attentionOutput = "attn_out", attentionNorm = "attn_norm", attentionPostNorm = "post_attn_norm"
    case attentionResidual = "attn_residual"
    case feedForwardInput = "ffn_norm", layerNorm2 = "ln_2", feedForwardGate = "ffn_gate", feedForwardUp = "ffn_up"
    case feedForwardHidden = "ffn_hidden", feedForwardActivation = "ffn_act", feedForwardOutput = "ffn_out"
    case feedForwardPostNorm = "post_ffn_norm"
    case out
    case finalNorm = "final_norm", logits

    /// What a step depends on besides the sentence.
    public enum Scope: Sendable { case sentence, layer, head }

    public var scope: Scope {
        switch self {
        case .tokenEmbeddings, .positionEmbeddings, .typeEmbeddings, .embeddings, .finalNorm, .logits: .sentence
        case .queriesBeforeRotation, .keysBeforeRotation, .queriesNormalized, .keysNormalized, .q, .k, .v, .scores,
             .scaled, .masked, .weights, .z: .head
        default: .layer
        }
    }

    /// Whether the step is a token × token matrix (labelled by tokens on both axes).
    public var isTokenByToken: Bool { [.scores, .scaled, .masked, .weights].contains(self) }
}

extension Trace {
    /// The matrix of `step` for `layer` and `head` (ignored where the step does not depend on
    /// them), or `nil` when this model has no such step.
    /// - Precondition: `layer` and `head` are in range; callers check and report.
    public func matrix(_ step: Step, layer: Int, head: Int) -> Matrix? {
        if let steps, !steps.contains(step) { return nil }
        switch step.scope {
        case .sentence:
            switch step {
            case .tokenEmbeddings: return tokenEmbeddings
            case .positionEmbeddings: return positionEmbeddings
            case .typeEmbeddings: return typeEmbeddings
            case .finalNorm: return finalNorm
            case .logits: return logits
            default: return embeddings
            }
        case .layer:
            let l = layers[layer]
            switch step {
            case .x: return l.x
            case .rmsnorm, .layerNorm1: return l.attentionInput
            case .concat: return l.concat
            case .attentionOutput: return l.attentionOutput
            case .attentionPostNorm: return l.attentionPostNorm
            case .attentionNorm: return l.attentionNorm
            case .attentionResidual: return l.attentionResidual
            case .feedForwardInput, .layerNorm2: return l.feedForwardInput
            case .feedForwardGate: return feedForwardSteps(layer: layer).gate
            case .feedForwardUp: return feedForwardSteps(layer: layer).up
            case .feedForwardHidden: return feedForwardSteps(layer: layer).hidden
            case .feedForwardActivation: return feedForwardSteps(layer: layer).activation
            case .feedForwardOutput: return l.feedForwardOutput
            case .feedForwardPostNorm: return l.feedForwardPostNorm
            default: return l.out
            }
        case .head:
            let h = layers[layer].heads[head]
            switch step {
            case .queriesBeforeRotation: return h.queriesBeforeRotation
            case .keysBeforeRotation: return h.keysBeforeRotation
            case .queriesNormalized: return h.queriesNormalized
            case .keysNormalized: return h.keysNormalized
            case .q: return h.q
            case .k: return h.k
            case .v: return h.v
            case .scores: return tokenByToken(layer: layer, head: head).scores
            case .scaled: return tokenByToken(layer: layer, head: head).scaled
            case .masked: return tokenByToken(layer: layer, head: head).masked
            case .weights: return tokenByToken(layer: layer, head: head).weights
            default: return h.z
            }
        }
    }
}
