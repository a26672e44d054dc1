import AttnCore

/// Occlusion, in the spirit of LIME: each token is removed in turn, the model runs again on the
/// rest, and the target (``TargetMeasure``) says how far the output moved.
/// ```
/// importance(i) = y(all tokens) − y(all but i)
/// encoder, by default:  y = cos(embedding(·), embedding(all tokens)),  so  1 − cos(…, all but i)
/// decoder, by default:  y = p(next | ·),  next the top token after all tokens
/// ```
/// It costs one forward pass per token, so each function reports how far it has come and stops
/// early when asked to, with the values of the tokens done.
enum Occlusion {
    /// One removed token: its position in the sentence and what the measure gave without it.
    typealias Value = (index: Int, value: Double)

    /// The tokens an encoder's occlusion removes: every word piece between [CLS] and [SEP].
    /// Those two frame every input: removing them asks a question the model never saw.
    static func wordPieces(of trace: Trace) -> [Int] {
        trace.count > 2 ? Array(1..<(trace.count - 1)) : []
    }

    /// Encoder: how far the sentence embedding turns without each word piece.
    /// ```
    /// importance(i) = 1 − cos(e(all tokens), e(all but i)),   e = SentenceEmbedding.meanPooled
    /// ```
    /// - Parameters:
    ///   - progress: called with the number of tokens done before each forward pass.
    ///   - isInterrupted: asked before each forward pass; `true` stops with the values so far.
    static func sentenceEmbedding(_ model: any TransformerModel, _ trace: Trace, ablating ablated: Set<Attention.HeadIndex>,
                                  progress: (Int) -> Void, isInterrupted: () -> Bool) -> [Value] {
        let full = SentenceEmbedding.meanPooled(trace)
        let input = ModelInput(ids: trace.tokenIds, removable: wordPieces(of: trace))
        return measured(input, known: 1, progress: progress, isInterrupted: isInterrupted) { ids in
            SentenceEmbedding.cosine(full, TargetMath.embedding(model, ids, ablated: ablated))
        }.values
    }

    /// Decoder: how much the probability of the token `next` falls without each token; `baseline`
    /// is its probability after the whole sentence. A negative value: the token works against `next`.
    /// ```
    /// importance(i) = p(next | all tokens) − p(next | all but i),   p = softmax(logits / τ)
    /// ```
    /// - Parameters: as ``sentenceEmbedding(_:_:ablating:progress:isInterrupted:)``; the baseline's
    ///   forward pass comes after `progress(0)`.
    /// - Precondition: `trace` has at least two tokens (one is removed at a time); callers check.
    static func nextTokenProbability(_ decoder: any DecoderModel, _ trace: Trace, next: Int, temperature: Float,
                                     ablating ablated: Set<Attention.HeadIndex>,
                                     progress: (Int) -> Void, isInterrupted: () -> Bool) -> (baseline: Double, values: [Value]) {
        let input = ModelInput(ids: trace.tokenIds, removable: Array(0..<trace.count))
        // The whole sentence first (the baseline), then each pass from its cache cut before the removed token.
        let passes = SharedPrefixPasses(decoder, ablated: ablated)
        return measured(input, known: nil, progress: progress, isInterrupted: isInterrupted) { ids in
            Double(probabilities(logits: passes.nextLogits(ids), temperature: temperature)[next])
        }
    }

    /// Any target: its value for the whole input (`known`, or one forward pass after
    /// `progress(0)`), and how far it falls without each of the input's removable tokens.
    /// ```
    /// importance(i) = y(ids) − y(ids without i),   i in input.removable
    /// ```
    static func measured(_ input: ModelInput, known: Double?, progress: (Int) -> Void, isInterrupted: () -> Bool,
                         value: ([Int]) -> Double) -> (baseline: Double, values: [Value]) {
        let baseline: Double
        if let known {
            baseline = known
        } else {
            progress(0)
            baseline = value(input.ids)
        }
        let values = removing(input.removable, from: input.ids, progress: progress, isInterrupted: isInterrupted) { ids in
            baseline - value(ids)
        }
        return (baseline, values)
    }

    /// `measure` of `ids` without each of `candidates` in turn, in order; stops early when
    /// `isInterrupted` says so.
    static func removing(_ candidates: [Int], from ids: [Int], progress: (Int) -> Void, isInterrupted: () -> Bool,
                         measure: ([Int]) -> Double) -> [Value] {
        var values: [Value] = []
        for i in candidates {
            if isInterrupted() { break }
            progress(values.count)
            var without = ids
            without.remove(at: i)
            values.append((i, measure(without)))
        }
        return values
    }
}
