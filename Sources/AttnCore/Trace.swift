/// One attention head's intermediates, in the order they are computed.
public struct HeadTrace: Sendable {
    /// `q = x · W_Qᵀ + b_Q`, this head's columns          (T × dₕ)
    public let q: Matrix
    /// `k = x · W_Kᵀ + b_K`, this head's columns          (T × dₕ)
    public let k: Matrix
    /// `v = x · W_Vᵀ + b_V`, this head's columns          (T × dₕ)
    public let v: Matrix
    /// `scores = q · kᵀ`                                  (T × T)
    public let scores: Matrix
    /// `scaled = scores / √dₕ`                            (T × T)
    public let scaled: Matrix
    /// `masked`: scaled with −∞ where the mask forbids    (T × T)
    public let masked: Matrix
    /// `weights = softmax(masked)` by rows                (T × T)
    public let weights: Matrix
    /// `z = weights · v`                                  (T × dₕ)
    public let z: Matrix
}

/// One layer's intermediates: its input, every head, and the rest of the block.
public struct LayerTrace: Sendable {
    /// The layer's input: the embeddings for layer 0, else the previous layer's `out`.   (T × d)
    public let x: Matrix
    /// Every head of this layer.
    public let heads: [HeadTrace]
    /// The heads side by side, `[z₀ | z₁ | …]`.                                           (T × d)
    public let concat: Matrix
    /// The output projection, `concat · W_Oᵀ + b_O`.                                       (T × d)
    public let attentionOutput: Matrix
    /// Residual and LayerNorm, `LN(x + attn_out)`.                                         (T × d)
    public let attentionNorm: Matrix
    /// The feed-forward's first projection, before GELU.                                   (T × d_ff)
    public let feedForwardHidden: Matrix
    /// After GELU.                                                                          (T × d_ff)
    public let feedForwardActivation: Matrix
    /// The feed-forward's second projection.                                               (T × d)
    public let feedForwardOutput: Matrix
    /// Residual and LayerNorm, `LN(attn_norm + ffn_out)`: the layer's output.              (T × d)
    public let out: Matrix
}

/// Every intermediate of one forward pass over one sentence.
public struct Trace: Sendable {
    /// The token ids, `[CLS]` and `[SEP]` included.
    public let tokenIds: [Int]
    /// The token strings, one per id.
    public let tokens: [String]
    /// Rows of the token embedding table, one per token.                  (T × d)
    public let tokenEmbeddings: Matrix
    /// Rows of the position embedding table, positions 0…T−1.              (T × d)
    public let positionEmbeddings: Matrix
    /// Rows of the token-type (segment) table; all type 0 for one sentence. (T × d)
    public let typeEmbeddings: Matrix
    /// `LN(token + position + type)`: the first layer's input.              (T × d)
    public let embeddings: Matrix
    /// One entry per layer.
    public let layers: [LayerTrace]

    /// The number of tokens, `T`.
    public var count: Int { tokenIds.count }
}

/// The steps of a forward pass that are matrices, by the names the learner types.
public enum Step: String, CaseIterable, Sendable {
    case tokenEmbeddings = "token_embeddings", positionEmbeddings = "position_embeddings"
    case typeEmbeddings = "type_embeddings", embeddings
    case x, q, k, v, scores, scaled, masked, weights, z
    case concat, attentionOutput = "attn_out", attentionNorm = "attn_norm"
    case feedForwardHidden = "ffn_hidden", feedForwardActivation = "ffn_act", feedForwardOutput = "ffn_out"
    case out

    /// What a step depends on besides the sentence.
    public enum Scope: Sendable { case sentence, layer, head }

    public var scope: Scope {
        switch self {
        case .tokenEmbeddings, .positionEmbeddings, .typeEmbeddings, .embeddings: .sentence
        case .q, .k, .v, .scores, .scaled, .masked, .weights, .z: .head
        default: .layer
        }
    }

    /// Whether the step is a token × token matrix (labelled by tokens on both axes).
    public var isTokenByToken: Bool { [.scores, .scaled, .masked, .weights].contains(self) }
}

extension Trace {
    /// The matrix of `step` for `layer` and `head` (ignored where the step does not depend on them).
    /// - Precondition: `layer` and `head` are in range; callers check and report.
    public func matrix(_ step: Step, layer: Int, head: Int) -> Matrix {
        switch step {
        case .tokenEmbeddings: return tokenEmbeddings
        case .positionEmbeddings: return positionEmbeddings
        case .typeEmbeddings: return typeEmbeddings
        case .embeddings: return embeddings
        default: break
        }
        let l = layers[layer]
        switch step {
        case .x: return l.x
        case .concat: return l.concat
        case .attentionOutput: return l.attentionOutput
        case .attentionNorm: return l.attentionNorm
        case .feedForwardHidden: return l.feedForwardHidden
        case .feedForwardActivation: return l.feedForwardActivation
        case .feedForwardOutput: return l.feedForwardOutput
        case .out: return l.out
        default: break
        }
        let h = l.heads[head]
        switch step {
        case .q: return h.q
        case .k: return h.k
        case .v: return h.v
        case .scores: return h.scores
        case .scaled: return h.scaled
        case .masked: return h.masked
        case .weights: return h.weights
        default: return h.z
        }
    }
}
