import AttnCore
import Foundation

/// What `importance` and `lime` explain: one number the model computes from a text, the
/// **target**. The learner names it with `target` (and `classify`).
/// ```
/// top            decoder: p(t) = softmax(logits / τ)[t], t the top next token after the sentence
///                encoder: cos(e(x), e(sentence)), e the sentence embedding
/// token(·Paris)  decoder: p(·Paris)
/// difference     decoder: p(·Paris) − p(·London)
/// like("…")      encoder: cos(e(x), e("…"))
/// label(name)    under classify: p(name), the classifier's probability of that label
/// ```
enum ExplanationTarget: Equatable, Sendable {
    case top
    case token(String)
    case difference(String, String)
    case like(String)
    case label(String)

    /// The target as the learner types it: `target ·Paris - ·London`.
    var command: String {
        switch self {
        case .top: "target top"
        case let .token(a): "target \(a)"
        case let .difference(a, b): "target \(a) - \(b)"
        case let .like(text): "target like \(quoted(text))"
        case let .label(name): "target class \(name)"
        }
    }
}

/// A text in double quotes, with the escapes `sentence "…"` reads (`\n \t \r \" \\`); any other
/// control or format character is written `\u{…}` as errors write it, so that a learner's text
/// quoted back cannot move the cursor, change colours or reverse the line.
func quoted(_ text: String) -> String {
    var out = "\""
    // By scalar, not by Character: "\r\n" is one Character, and two escapes.
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        default: out += escapingControlCharacters(String(scalar))
        }
    }
    return out + "\""
}

/// `classify`: the model made into a zero-shot classifier of the sentence.
/// ```
/// decoder  prompt = "Review: {sentence}\nSentiment:",  tₖ = the first token of " label k"
///          p(k) = p(tₖ) / Σⱼ p(tⱼ),   p = softmax(logits[last] / τ)      (renormalized over the labels)
/// encoder  p(k) = softmax over k of 20 · cos(e(sentence), e("this is label k"))
/// ```
/// The decoder's template asks for a sentiment, whatever the labels. The encoder's scale 20 is
/// what sentence-transformers' contrastive loss (MultipleNegativesRankingLoss, `scale=20.0` by
/// default) multiplies cosines by before its softmax: cosines of 0.05 and 0.11 become 0.23 and 0.77.
struct Classifier: Equatable, Sendable {
    var labels: [String]

    /// The decoder's prompt, around the sentence.
    static let template = "Review: {sentence}\nSentiment:"
    /// The template before and after `{sentence}`, which are tokenized apart from the sentence so
    /// that its tokens are its own (for SmolLM2 the same ids as the whole prompt's).
    static let prefix = "Review:", suffix = "\nSentiment:"
    /// The sentence an encoder compares the sentence with, for each label.
    static func labelSentence(_ label: String) -> String { "this is \(label)" }
    /// What an encoder's cosines are multiplied by before the softmax.
    static let scale = 20.0
    static let labelCount = 2...10
    /// The longest label, in characters.
    static let labelLength = 40
}

/// What the classifier makes of one text: each label's probability, and what it came from.
struct Classification: Sendable {
    /// Decoder: each label's first token and its probability among all tokens, p(tₖ).
    var tokens: [Int] = []
    var tokenProbabilities: [Double] = []
    /// Encoder: cos(e(x), e("this is label k")).
    var cosines: [Double] = []
    /// p(k), summing to 1 over the labels.
    var probabilities: [Double]
}

/// A model's input for a text in place of the sentence: its token ids, and the positions that are
/// the text's own tokens (occlusion removes those; [CLS], [SEP] and a template stay).
struct ModelInput: Sendable, Equatable {
    var ids: [Int]
    var removable: [Int]
}

/// The target, resolved for one model and sentence: its formula and how to compute it for any
/// text, one forward pass each that keeps nothing (a decoder's runs with a fresh KV cache, which
/// it drops; an encoder's trace is dropped once pooled).
struct TargetMeasure {
    /// `p(·Paris)`, `p(·Paris) − p(·London)`, `cos(e(x), e("a sad story"))`, `p(positive)`.
    let formula: String
    /// How the number is computed, as one sentence.
    let definition: String
    /// The input for a text.
    let input: (String) throws -> ModelInput
    /// The target for an input.
    let value: ([Int]) -> Double
    /// The target of the sentence itself when it is known without a forward pass: an encoder's
    /// default, cos(e, e) = 1.
    let knownSentenceValue: Double?
    /// Whether an empty text still gives an input to run (a template, [CLS] and [SEP], a BOS).
    let runsWithoutWords: Bool
    /// The targets of several inputs from batched forward passes, where the model has them (an
    /// encoder's inputs side by side); nil: `value` of each in turn.
    var batchValues: (([[Int]]) -> [Double])? = nil

    /// The targets of `inputs`, batched when the measure can.
    func values(_ inputs: [[Int]]) -> [Double] {
        batchValues?(inputs) ?? inputs.map(value)
    }
    /// A decoder's target from the next-token logits after an input, which `value` computes
    /// them for: what activation patching (`patch`) reads from a forward pass of its own.
    var fromLogits: (([Float]) -> Double)? = nil
}

/// The pieces targets are made of: an encoder's sentence embedding, a decoder's next-token
/// probabilities, a classifier's label probabilities.
enum TargetMath {
    /// The sentence embedding of an input (``SentenceEmbedding/meanPooled(_:)``).
    static func embedding(_ model: any TransformerModel, _ ids: [Int], ablated: Set<Attention.HeadIndex>) -> [Float] {
        SentenceEmbedding.meanPooled(model.trace(ids: ids, ablating: ablated))
    }

    /// The sentence embeddings of several inputs, side by side in passes of at most
    /// ``batchRows`` rows (one input alone when it is longer).
    static func embeddings(_ model: any TransformerModel, _ batch: [[Int]], ablated: Set<Attention.HeadIndex>) -> [[Float]] {
        var out: [[Float]] = [], pending: [[Int]] = [], rows = 0
        func run() {
            if !pending.isEmpty { out += model.finalHiddenStates(batch: pending, ablating: ablated).map(SentenceEmbedding.meanPooled) }
            pending = []
            rows = 0
        }
        for ids in batch {
            if rows + ids.count > batchRows { run() }
            pending.append(ids)
            rows += ids.count
        }
        run()
        return out
    }

    /// The most rows of one batched pass: products of 512 rows run near the cores' speed, while a
    /// pass's token × token buffers (Σ Tᵢ)² per head stay near 1 MB (Tests/Benchmarks/README.md).
    static let batchRows = 512

    /// The logits of the next token after `ids`, from a fresh KV cache.
    static func nextLogits(_ decoder: any DecoderModel, _ ids: [Int], ablated: Set<Attention.HeadIndex>) -> [Float] {
        var cache = KeyValueCache(layers: decoder.sizes.layers)
        return decoder.forward(ids, cache: &cache, ablating: ablated)
    }

    /// A decoder classifier's label probabilities from the next-token logits: the softmax over the
    /// labels' first tokens alone, which is p(tₖ) / Σⱼ p(tⱼ) without p underflowing to 0.
    static func decoderClasses(logits: [Float], tokens: [Int], temperature: Float) -> Classification {
        let p = probabilities(logits: logits, temperature: temperature)
        let t = Double(max(temperature, 1e-6))
        let scaled = tokens.map { Double(logits[$0]) / t }
        return Classification(tokens: tokens, tokenProbabilities: tokens.map { Double(p[$0]) },
                              probabilities: softmax(scaled))
    }

    /// An encoder classifier's label probabilities: softmax of 20 · cos with each label sentence.
    static func encoderClasses(_ embedding: [Float], labels: [[Float]]) -> Classification {
        let cosines = labels.map { SentenceEmbedding.cosine(embedding, $0) }
        return Classification(cosines: cosines, probabilities: softmax(cosines.map { Classifier.scale * $0 }))
    }

    /// Softmax in Double, the largest subtracted first.
    static func softmax(_ x: [Double]) -> [Double] {
        let m = x.max() ?? 0
        let e = x.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }
}

extension TransformerModel {
    /// The model's input for a text, as ``trace(_:ablating:)`` tokenizes it: a decoder's ids
    /// (after BOS where it adds one), an encoder's with [CLS] and [SEP].
    func inputIds(for text: String) throws -> [Int] {
        if let decoder = self as? any DecoderModel { return decoder.inputIds(text) }
        if let bert = self as? Bert { return try bert.tokenizer.encode(text, limit: tokenLimit) }
        return try trace(text, ablating: []).tokenIds
    }
}


/// Next-token passes over inputs that begin as the first one does. `importance` and `lime` take
/// tokens out of one input: the tokens before the first one taken out keep their keys and values
/// (the mask is causal), so a pass starts from the first input's cache cut there
/// (``KeyValueCache/prefix(_:)``) and runs only the rest, half the work on average.
final class SharedPrefixPasses: @unchecked Sendable {
    // @unchecked: one explanation's passes run one after another, on one thread.
    let decoder: any DecoderModel
    let ablated: Set<Attention.HeadIndex>
    /// The first input run, with its keys and values.
    private var first: (ids: [Int], cache: KeyValueCache)?

    init(_ decoder: any DecoderModel, ablated: Set<Attention.HeadIndex>) {
        (self.decoder, self.ablated) = (decoder, ablated)
    }

    /// The logits of the next token after `ids`, as ``TargetMath/nextLogits(_:_:ablated:)``
    /// computes them, from the first input's cache where `ids` begins as it does.
    func nextLogits(_ ids: [Int]) -> [Float] {
        guard let first else {
            var cache = KeyValueCache(layers: decoder.sizes.layers)
            let logits = decoder.forward(ids, cache: &cache, ablating: ablated)
            self.first = (ids, cache)
            return logits
        }
        // At least one token to run: an input that is a beginning of the first runs its last again.
        let shared = zip(ids, first.ids).prefix { $0 == $1 }.count
        let start = min(shared, ids.count - 1)
        if start > 0, var cache = first.cache.prefix(start) {
            return decoder.forward(Array(ids[start...]), cache: &cache, ablating: ablated)
        }
        return TargetMath.nextLogits(decoder, ids, ablated: ablated)
    }
}
