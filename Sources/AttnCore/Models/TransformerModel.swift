import Foundation

/// What the notebook asks of a model, in one place: its sizes, the steps its forward pass has,
/// the checkpoint tensor behind each step, the weights it names for the learner's math, and the
/// forward pass itself. ``Bert``, ``GPT2`` and ``Llama`` conform; a new architecture is one more
/// conformance (plus its loading and forward pass) and one line in ``ModelSource``.
///
/// A decoder conforms to ``DecoderModel`` as well: next-token logits with a key/value cache.
public protocol TransformerModel: Sendable {
    /// What the files hold, in the words of `model`'s description: "BERT encoder".
    static var architecture: String { get }

    /// Opens the model at `location` (a directory, or a single file where the format has one).
    /// - Throws: `AttnError` naming the file and what is wrong with it.
    init(opening location: String) throws

    /// The sizes the files at `location` declare (config.json, GGUF metadata), read without
    /// loading any weight: for listing models.
    static func sizes(at location: String) throws -> ModelSizes

    /// Where the model was read from.
    var location: String { get }
    var sizes: ModelSizes { get }
    /// The ε of the model's normalization (LayerNorm's or RMSNorm's), which the learner's
    /// `layernorm` and `rmsnorm` use too.
    var normalizationEpsilon: Float { get }
    /// The most tokens a trace may hold (see the extension).
    var tokenLimit: Int { get }

    /// How many positions a query of `layer` sees, itself included, or nil for its whole past:
    /// nil in every layer but Gemma 3's local ones (the extension's default).
    func attentionWindow(layer: Int) -> Int?
    /// RoPE's base θ in `layer`, nil without RoPE (Gemma 3's differs between local and global
    /// layers; the extension's default is ``DecoderModel/ropeBase``).
    func ropeBase(layer: Int) -> Float?

    /// The steps a trace of this model holds, in the order of the computation.
    static var steps: [Step] { get }
    /// The formula of each step where this model computes it differently from BERT (whose
    /// formulas the notebook's step table holds): `out = attn_residual + ffn_out` in a pre-norm
    /// decoder. `{KV}` stands for the head's key/value head, `{D}` for dₕ.
    var stepFormulas: [Step: String] { get }
    /// Where a step at `layer` and `head` comes from: the checkpoint tensors it reads (by their
    /// names in the file, with their stored type where it is not float32), one line each.
    func provenance(of step: Step, layer: Int, head: Int) -> [String]

    /// Every name the model binds for the learner's math, in the order `names` lists them: the
    /// trace's (``traceNames``: X, Q, scores, …, the same for every model) and its own weights
    /// (`W_Q`, `gamma_attn`, …).
    static var boundNames: [String] { get }
    /// One of the model's own ``boundNames`` (not a ``traceNames`` one) for `layer` and `head` of
    /// `trace`, in the orientation of the math: `X @ W_Q + b_Q` equals `Q`.
    func weight(named name: String, layer: Int, head: Int, trace: Trace) -> Matrix?

    /// Tokenizes `text` and runs the forward pass, keeping every intermediate.
    /// - Throws: beyond ``tokenLimit``, or when `text` has no tokens.
    func trace(_ text: String, ablating ablated: Set<Attention.HeadIndex>) throws -> Trace
    /// The forward pass over token ids, with the heads in `ablated` zeroed.
    func trace(ids: [Int], ablating ablated: Set<Attention.HeadIndex>) -> Trace
    /// The last layer's `out` of each of several inputs: an encoder runs them side by side in
    /// one pass (``Bert/finalHiddenStates(batch:ablating:)``); the extension's default traces
    /// each in turn.
    func finalHiddenStates(batch: [[Int]], ablating ablated: Set<Attention.HeadIndex>) -> [Matrix]
    /// A token as the notebook shows it (a decoder's spaces as ·).
    func tokenLabel(_ id: Int) -> String
    /// The text a run of tokens stands for (a decoder's bytes joined into characters).
    func text(of ids: [Int]) -> String
}

/// A model that predicts the next token: the logits of the last position, with the keys and
/// values of the positions before kept in a cache; generation is built on them. Its text is
/// traced as its tokenizer cuts it, after BOS where the model expects one (the extension).
public protocol DecoderModel: TransformerModel {
    associatedtype Tokenizer: DecoderTokenizer
    var tokenizer: Tokenizer { get }
    /// The Jinja text that turns a conversation into a prompt, if the file has one.
    var chatTemplate: String? { get }
    /// RoPE's base θ: pair k of a head turns by p · θ^(−2k/dₕ) at position p; nil for a model
    /// whose positions are learned vectors added to the input (GPT-2).
    var ropeBase: Float? { get }
    /// Runs `ids` at positions `cache.count…`, extending the cache, and returns the logits of the
    /// last position.
    func forward(_ ids: [Int], cache: inout KeyValueCache, ablating ablated: Set<Attention.HeadIndex>) -> [Float]
    /// ``forward(_:cache:ablating:)`` with the activations of `patch` written in place of the
    /// ones it computes (activation patching); an empty patch gives the same numbers.
    func forward(_ ids: [Int], cache: inout KeyValueCache, ablating ablated: Set<Attention.HeadIndex>,
                 patching patch: ActivationPatch) -> [Float]
    /// The final norm of rows of the residual stream: what the unembedding reads.   (T × d)
    func finalNorm(_ x: Matrix) -> Matrix
    /// A score for every vocabulary entry, from rows the final norm gave.
    /// ```
    /// logits = final_norm · Eᵀ        (T × d) · (d × vocabulary) → (T × vocabulary)
    /// ```
    func logits(_ finalNorm: Matrix) -> Matrix
}

extension DecoderModel {
    /// The decoder's one base, in every layer (Gemma 3 has its own).
    public func ropeBase(layer: Int) -> Float? { ropeBase }

    /// A token as its label: `·` for a space (see ``BPETokenizer/visible(_:)``).
    public func tokenLabel(_ id: Int) -> String { tokenizer.label(id) }

    /// The model's input for `text`: its tokens, after BOS where the model's tokenizer adds one
    /// (Gemma's; neither SmolLM2's nor GPT-2's Hugging Face tokenizer adds a start token).
    public func inputIds(_ text: String) -> [Int] {
        let ids = tokenizer.encode(text)
        guard tokenizer.addsBeginningToken, let bos = tokenizer.bosId else { return ids }
        return [bos] + ids
    }

    /// Tokenizes `text` (``inputIds(_:)``) and runs the forward pass.
    /// - Throws: `.noTokens` for an empty text, `.sequenceTooLong` beyond ``tokenLimit``.
    public func trace(_ text: String, ablating ablated: Set<Attention.HeadIndex> = []) throws -> Trace {
        let ids = inputIds(text)
        guard !ids.isEmpty, ids != [tokenizer.bosId] else { throw AttnError.noTokens }
        guard ids.count <= tokenLimit else { throw AttnError.sequenceTooLong(tokens: ids.count, limit: tokenLimit, context: sizes.context) }
        return trace(ids: ids, ablating: ablated)
    }
}

/// The names every model binds from its trace of the selected layer and head, for the learner's
/// math: its input X, Q, K, V, the attention's steps, the mask M, dk, the token count T and ids.
public let traceNames = ["X", "Q", "K", "V", "scores", "scaled", "masked", "M", "weights", "Z", "dk", "T", "ids"]

/// A model's sizes, as its configuration gives them.
public struct ModelSizes: Sendable, Equatable {
    public var layers: Int
    /// Query heads per layer.
    public var heads: Int
    /// Key/value heads per layer: `heads` without grouped-query attention, fewer with it.
    public var keyValueHeads: Int
    /// dₕ, the width of one head.
    public var headDimension: Int
    /// d_model, the width of the residual stream.
    public var modelDimension: Int
    /// The width of the feed-forward's hidden layer.
    public var feedForwardDimension: Int
    public var vocabulary: Int
    /// The most positions the model was trained for.
    public var context: Int

    public init(layers: Int, heads: Int, keyValueHeads: Int, headDimension: Int, modelDimension: Int,
                feedForwardDimension: Int, vocabulary: Int, context: Int) {
        (self.layers, self.heads, self.keyValueHeads, self.headDimension) = (layers, heads, keyValueHeads, headDimension)
        (self.modelDimension, self.feedForwardDimension) = (modelDimension, feedForwardDimension)
        (self.vocabulary, self.context) = (vocabulary, context)
    }

    /// How many query heads share one key/value head.
    public var groupSize: Int { heads / max(keyValueHeads, 1) }
}

extension TransformerModel {
    /// The most tokens this model traces: its context, or fewer when a trace that long would take
    /// more than ``ModelBudget/maximumTraceBytes`` (see ``ModelBudget/tokenLimit(_:)``).
    public var tokenLimit: Int { ModelBudget.tokenLimit(sizes) }

    /// Throws `.fileUnreadable` unless `location` is a directory, saying it should hold `what`.
    static func requireDirectory(_ location: String, holding what: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AttnError.fileUnreadable(path: location, reason: "not a directory holding \(what)")
        }
    }

    /// Each input traced in turn, its last layer's `out` kept.
    public func finalHiddenStates(batch: [[Int]], ablating ablated: Set<Attention.HeadIndex>) -> [Matrix] {
        batch.map { ids in
            let trace = trace(ids: ids, ablating: ablated)
            return trace.layers.last?.out ?? trace.embeddings
        }
    }

    /// Every layer sees the whole past.
    public func attentionWindow(layer: Int) -> Int? { nil }
    /// No RoPE (an encoder's positions are learned).
    public func ropeBase(layer: Int) -> Float? { nil }

    /// Whether each token sees only itself and the past.
    public var isCausal: Bool { self is any DecoderModel }
    /// ``steps``, from an instance.
    public var steps: [Step] { Self.steps }
    /// ``boundNames``, from an instance.
    public var boundNames: [String] { Self.boundNames }
    /// ``architecture``, from an instance.
    public var architecture: String { Self.architecture }
}
